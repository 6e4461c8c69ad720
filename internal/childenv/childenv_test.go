package childenv

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestEnv(t *testing.T) {
	parent := map[string]string{
		"PATH": "/usr/bin", "HOME": "/home/l", "LANG": "C.UTF-8",
		"AWS_SECRET_ACCESS_KEY": "s3cr3t", "VAULT_TOKEN": "hvs.x", "LIFEBOAT_TEST_CANARY": "canary",
		"PGSSLROOTCERT": "/ca.pem", "PGPASSWORD": "from-env",
	}
	lookup := func(k string) (string, bool) { v, ok := parent[k]; return v, ok }
	for _, tc := range []struct {
		name      string
		pass, set []string
		want      []string
	}{
		{"base only", nil, nil, []string{"PATH=/usr/bin", "HOME=/home/l", "LANG=C.UTF-8"}},
		{"libpq", Libpq, []string{"PGPASSWORD=configured"},
			[]string{"PATH=/usr/bin", "HOME=/home/l", "LANG=C.UTF-8", "PGPASSWORD=configured", "PGSSLROOTCERT=/ca.pem"}},
		{"named and set", []string{"LIFEBOAT_TEST_CANARY", "UNSET"}, []string{"PATH=/opt/bin", "X=1=2"},
			[]string{"PATH=/opt/bin", "HOME=/home/l", "LANG=C.UTF-8", "LIFEBOAT_TEST_CANARY=canary", "X=1=2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := build(lookup, tc.pass, tc.set)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("env = %q, want %q", got, want)
			}
		})
	}
}

// A real child sees only what Env gives it: the canary and the tokens in lifeboat's
// environment do not reach it.
func TestEnvReachesChild(t *testing.T) {
	for _, kv := range []string{"LIFEBOAT_TEST_CANARY=canary-7f3a", "AWS_SECRET_ACCESS_KEY=aws-7f3a", "VAULT_TOKEN=vault-7f3a", "BAO_TOKEN=bao-7f3a"} {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
	cmd := exec.Command("env")
	cmd.Env = Env(nil, "ASKED=yes")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "7f3a") {
		t.Errorf("a secret of lifeboat's environment reached the child:\n%s", out)
	}
	if !strings.Contains(string(out), "ASKED=yes\n") || !strings.Contains(string(out), "PATH=") {
		t.Errorf("the child lacks what it was given:\n%s", out)
	}
}
