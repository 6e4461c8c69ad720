package helm

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// Without agent.openReadOnly the agent answers /metrics only with its API token, so the
// ServiceMonitor must send it (from the same Secret), or Prometheus scrapes 401s and the
// alerts see no metrics; with openReadOnly it sends nothing.
func TestServiceMonitorAuthorization(t *testing.T) {
	helmBin(t)
	agent := valueSets[2].paths()[0]
	for _, tc := range []struct {
		name     string
		sets     []string
		wantAuth bool
	}{
		{"open read-only", []string{"agent.openReadOnly=true"}, false},
		{"token required", []string{"agent.openReadOnly=false", "agent.tokenSecretRef.key=api-token"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sms []serviceMonitor
			for _, o := range parseObjects(t, render(t, []string{agent}, tc.sets...)) {
				if o.gvk.Kind == "ServiceMonitor" {
					var sm serviceMonitor
					if err := yaml.Unmarshal(o.yaml, &sm); err != nil {
						t.Fatal(err)
					}
					sms = append(sms, sm)
				}
			}
			if len(sms) != 1 || len(sms[0].Spec.Endpoints) != 1 {
				t.Fatalf("want one ServiceMonitor with one endpoint, got %+v", sms)
			}
			auth := sms[0].Spec.Endpoints[0].Authorization
			switch {
			case !tc.wantAuth && auth != nil:
				t.Errorf("open /metrics: the ServiceMonitor sends credentials anyway: %+v", auth)
			case tc.wantAuth && (auth == nil || auth.Type != "Bearer" || auth.Credentials == nil ||
				auth.Credentials.Name != "lifeboat-api" || auth.Credentials.Key != "api-token"):
				t.Errorf("/metrics needs the token: want authorization Bearer from Secret lifeboat-api key api-token, got %+v", auth)
			}
		})
	}
}

// agent.secureCookie passes --secure-cookie to serve (for TLS terminated in front of the
// agent); without it the agent runs plain `serve`.
func TestAgentSecureCookie(t *testing.T) {
	helmBin(t)
	agent := valueSets[2].paths()[0]
	for set, want := range map[string][]string{
		"agent.secureCookie=false": {"serve"},
		"agent.secureCookie=true":  {"serve", "--secure-cookie"},
	} {
		var args []string
		for _, o := range parseObjects(t, render(t, []string{agent}, set)) {
			if o.gvk.Kind != "Deployment" {
				continue
			}
			var d struct {
				Spec struct {
					Template struct {
						Spec struct {
							Containers []struct {
								Name string   `json:"name"`
								Args []string `json:"args"`
							} `json:"containers"`
						} `json:"spec"`
					} `json:"template"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal(o.yaml, &d); err != nil {
				t.Fatal(err)
			}
			for _, c := range d.Spec.Template.Spec.Containers {
				args = append(args, c.Args...)
			}
		}
		if !strings.HasSuffix(strings.Join(args, " "), " "+strings.Join(want, " ")) {
			t.Errorf("%s: agent args %q, want %q", set, args, want)
		}
	}
}
