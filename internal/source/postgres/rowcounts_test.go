package postgres

import (
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/source"
)

func TestRowCountChecks(t *testing.T) {
	want := map[string]int64{"public.argo_workflows": 500, "audit.events": 10}
	for _, tc := range []struct {
		name string
		got  map[string]int64
		diff string // "" = match
	}{
		{"equal", map[string]int64{"public.argo_workflows": 500, "audit.events": 10}, ""},
		{"extra tables in the target are ignored", map[string]int64{"public.argo_workflows": 500, "audit.events": 10, "public.other": 3}, ""},
		{"fewer rows", map[string]int64{"public.argo_workflows": 499, "audit.events": 10},
			"1 of 2 checks failed: table public.argo_workflows: 499 rows, the backup recorded 500"},
		{"missing and more, sorted", map[string]int64{"public.argo_workflows": 501},
			"2 of 2 checks failed: table audit.events: missing after restore (want 10 rows); table public.argo_workflows: 501 rows, the backup recorded 500"},
		{"empty target", nil,
			"2 of 2 checks failed: table audit.events: missing after restore (want 10 rows); table public.argo_workflows: missing after restore (want 500 rows)"},
	} {
		checks := RowCountChecks(want, tc.got)
		if len(checks) != len(want) {
			t.Errorf("%s: %d checks, want one per recorded table", tc.name, len(checks))
		}
		err := source.FailedChecks(checks)
		switch {
		case tc.diff == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.diff != "" && (err == nil || err.Error() != tc.diff):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.diff)
		}
	}
}
