package main

import (
	"strings"
	"testing"
)

func TestDSNHasPassword(t *testing.T) {
	for _, tc := range []struct {
		dsn     string
		want    bool
		wantErr bool
	}{
		{"host=db dbname=argo user=postgres", false, false},
		{"host=db password=secret", true, false},
		{"host=db password = secret", true, false},
		{"host=db password= 'two words'", true, false},
		{"host=db\tpassword\t=\tsecret", true, false},
		{"postgres://u:pw@h/db", true, false},
		{"postgresql://u:@h/db", true, false}, // an empty password is still one on the command line
		{"postgres://u@h/db?password=pw", true, false},
		{"postgres://u@h:5432/db?sslmode=require", false, false},
		{"host=db passfile=/home/u/.pgpass", false, false}, // a path, not a secret
		{"host=db application_name='password=x'", false, false},
		{"host='db", false, true},
		{"secret", false, true},
	} {
		got, err := dsnHasPassword(tc.dsn)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("dsnHasPassword(%q) = %v, %v; want %v, error %v", tc.dsn, got, err, tc.want, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error quotes the DSN: %v", err)
		}
	}
}

func TestCompareCounts(t *testing.T) {
	want := map[string]int64{"public.argo_workflows": 500, "audit.events": 10}
	for _, tc := range []struct {
		name string
		got  map[string]int64
		diff string // "" = match
	}{
		{"equal", map[string]int64{"public.argo_workflows": 500, "audit.events": 10}, ""},
		{"extra tables in the target are ignored", map[string]int64{"public.argo_workflows": 500, "audit.events": 10, "public.other": 3}, ""},
		{"fewer rows", map[string]int64{"public.argo_workflows": 499, "audit.events": 10}, "public.argo_workflows has 499 rows, want 500"},
		{"missing and more, sorted", map[string]int64{"public.argo_workflows": 501},
			"audit.events missing (want 10 rows); public.argo_workflows has 501 rows, want 500"},
		{"empty target", nil, "audit.events missing (want 10 rows); public.argo_workflows missing (want 500 rows)"},
	} {
		err := compareCounts(want, tc.got)
		switch {
		case tc.diff == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.diff != "" && (err == nil || err.Error() != tc.diff):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.diff)
		}
	}
}
