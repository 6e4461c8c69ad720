package postgres

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
		got, err := DSNHasPassword(tc.dsn)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("DSNHasPassword(%q) = %v, %v; want %v, error %v", tc.dsn, got, err, tc.want, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error quotes the DSN: %v", err)
		}
	}
}
