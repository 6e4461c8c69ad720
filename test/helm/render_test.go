package helm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/config"
)

// helm lint with each example value set (warnings fail too).
func TestLint(t *testing.T) {
	for _, v := range valueSets {
		t.Run(v.name, func(t *testing.T) {
			args := append([]string{"lint", chartDir(), "--strict", "--kube-version", kubeVersion}, v.valuesArgs()...)
			out, errOut, err := runHelm(t, args...)
			if err != nil {
				t.Fatalf("helm lint: %v\n%s%s", err, out, errOut)
			}
		})
	}
}

// The rendered manifests of each value set match testdata/<set>.golden.yaml. After an
// intended chart change: go test ./test/helm -run TestGolden -update, and review the diff.
func TestGolden(t *testing.T) {
	for _, v := range valueSets {
		t.Run(v.name, func(t *testing.T) {
			got := renderSet(t, v)
			golden := filepath.Join("testdata", v.name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (create it with -update)", err)
			}
			if got != string(want) {
				t.Errorf("rendered %s differs from %s (rerun with -update if the change is intended):\n%s",
					strings.Join(v.files, " + "), golden, firstDiff(string(want), got))
			}
		})
	}
}

// firstDiff shows a few lines around the first differing line.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		if i < len(w) && i < len(g) && w[i] == g[i] {
			continue
		}
		lo, hi := max(0, i-3), i+4
		var b strings.Builder
		b.WriteString("--- want\n")
		for j := lo; j < min(hi, len(w)); j++ {
			b.WriteString("  " + w[j] + "\n")
		}
		b.WriteString("--- got\n")
		for j := lo; j < min(hi, len(g)); j++ {
			b.WriteString("  " + g[j] + "\n")
		}
		return b.String()
	}
	return ""
}

// Mistakes in values fail the install with a message that names the value to fix, instead
// of surfacing when the first Job runs: values.schema.json catches misspelt keys and bad
// types, the chart's own checks (templates/_validate.tpl) what a schema cannot express.
func TestValuesErrors(t *testing.T) {
	helmBin(t)
	minimal := valueSets[0].paths()[0]
	gcsValues := valueSetNamed("gcs").paths()[0]
	for _, tc := range []struct {
		name   string
		files  []string
		sets   []string
		wanted string
	}{
		{"chart defaults need a destination", nil, nil, "destinations: configure at least one destination"},
		{"bad mode", []string{minimal}, []string{"mode=daemon"}, "at '/mode': value must be one of 'cronjob', 'agent'"},
		{"misspelt destination field", []string{minimal}, []string{"destinations[0].bucekt=x"}, "at '/destinations/0': additional properties 'bucekt' not allowed"},
		{"misspelt source field", []string{minimal}, []string{"vault.backup.shedule=@daily"}, "at '/vault/backup': additional properties 'shedule' not allowed"},
		{"retention rule unknown", []string{minimal}, []string{"destinations[0].retention.keepHourly=3"}, "additional properties 'keepHourly' not allowed"},
		{"bucket missing", []string{minimal}, []string{"destinations[0].bucket="}, "destinations[0].bucket: required for type s3"},
		{"object lock mode", []string{minimal}, []string{"destinations[0].objectLock.mode=legal-hold", "destinations[0].objectLock.retainFor=30d"}, "at '/destinations/0/objectLock/mode': value must be one of 'governance', 'compliance'"},
		{"object lock without retainFor", []string{minimal}, []string{"destinations[0].objectLock.mode=governance"}, "at '/destinations/0/objectLock': missing property 'retainFor'"},
		{"object lock on a file destination", []string{minimal}, []string{"destinations[0].type=file", "destinations[0].bucket=", "destinations[0].objectLock.mode=governance", "destinations[0].objectLock.retainFor=7d"},
			"destinations[0].objectLock: only for type s3; a file destination is made immutable by its storage"},
		{"bad destination name", []string{minimal}, []string{"destinations[0].name=S3_Primary"}, "at '/destinations/0/name': 'S3_Primary' does not match pattern"},
		{"unknown destination type", []string{minimal}, []string{"destinations[0].type=ftp"}, "at '/destinations/0/type': value must be one of 's3', 'azure', 'gcs', 'file'"},
		{"gcs bucket missing", []string{gcsValues}, []string{"destinations[0].bucket="}, "destinations[0].bucket: required for type gcs"},
		{"gcs with an s3 field", []string{gcsValues}, []string{"destinations[0].region=eu-west-1"}, "destinations[0].region: only for type s3 (gcs takes bucket, prefix, endpoint, chunkSizeMiB, secretRef)"},
		{"gcs key to an emulator", []string{gcsValues}, []string{"destinations[1].endpoint=http://fake-gcs:4443"}, "destinations[1].secretRef: not used with a plain http:// endpoint"},
		{"gcs chunk too large", []string{gcsValues}, []string{"destinations[0].chunkSizeMiB=2048"}, "at '/destinations/0/chunkSizeMiB': maximum: got 2,048, want 1,024"},
		{"file with a bucket", []string{gcsValues}, []string{"destinations[0].type=file"}, "destinations[0].bucket: only for types s3 and gcs"},
		{"unknown destination of a source", []string{minimal}, []string{"vault.backup.destinations={nowhere}"}, `vault.backup.destinations: unknown destination "nowhere" (configured: s3-primary)`},
		{"restore without a snapshot", []string{minimal}, []string{"vault.restore.enabled=true"}, "vault.restore.snapshot: required"},
		{"agent without a token", []string{minimal}, []string{"mode=agent"}, "agent.tokenSecretRef.name: required in agent mode"},
		{"token auth without a secret", []string{minimal}, []string{"vault.auth.method=token"}, "vault.auth.token.secretRef.name: required"},
		{"drill without unseal keys", []string{minimal}, []string{"vault.drill.enabled=true"}, "vault.drill.unsealKeysSecretRef.name: required"},
		{"drill with kubernetes auth and no drill token", []string{minimal}, []string{"vault.drill.enabled=true", "vault.drill.unsealKeysSecretRef.name=keys"}, "vault.drill.tokenSecretRef.name: required when vault.auth.method is kubernetes"},
		{"drill with a seal and unseal keys", []string{minimal}, []string{"vault.drill.enabled=true", "vault.drill.tokenSecretRef.name=t", "vault.drill.seal.type=transit", "vault.drill.unsealKeysSecretRef.name=keys"}, "vault.drill.seal and vault.drill.unsealKeysSecretRef: set one, not both"},
		{"drill seal without a type", []string{minimal}, []string{"vault.drill.enabled=true", "vault.drill.tokenSecretRef.name=t", "vault.drill.seal.parameters.key_name=autounseal"}, "vault.drill.seal.type: required when vault.drill.seal.parameters or secretRefs are set"},
		{"drill seal of an unknown type", []string{minimal}, []string{"vault.drill.enabled=true", "vault.drill.seal.type=shamir"}, "at '/vault/drill/seal/type': value must be one of"},
		{"drill seal credential as a parameter", []string{minimal}, []string{"vault.drill.enabled=true", "vault.drill.tokenSecretRef.name=t", "vault.drill.seal.type=transit", "vault.drill.seal.parameters.token=s.abc"}, "vault.drill.seal.parameters.token: is a credential: move it to vault.drill.seal.secretRefs.token"},
		{"drill seal parameter and secretRef alike", []string{minimal}, []string{"vault.drill.enabled=true", "vault.drill.tokenSecretRef.name=t", "vault.drill.seal.type=awskms", "vault.drill.seal.parameters.region=eu-west-1", "vault.drill.seal.secretRefs.region.name=r"}, "vault.drill.seal.secretRefs.region: also set in vault.drill.seal.parameters"},
		{"drill seal secretRef without a Secret", []string{minimal}, []string{"vault.drill.enabled=true", "vault.drill.seal.type=transit", "vault.drill.seal.secretRefs.token.key=token"}, "at '/vault/drill/seal/secretRefs/token': missing property 'name'"},
		{"drill seal parameter name", []string{minimal}, []string{"vault.drill.enabled=true", "vault.drill.seal.type=transit", "vault.drill.seal.parameters.KeyName=x"}, "at '/vault/drill/seal/parameters': additional properties 'KeyName' not allowed"},
		{"postgres without host", []string{minimal}, []string{"workflows.metadataDatabase.backup.enabled=true"}, "workflows.metadataDatabase.host: required"},
		{"servicemonitor in cronjob mode", []string{minimal}, []string{"metrics.serviceMonitor.enabled=true"}, "metrics.serviceMonitor.enabled: needs mode agent"},
		{"alerts in cronjob mode without a pushgateway", []string{minimal}, []string{"metrics.prometheusRule.enabled=true"}, "metrics.prometheusRule.enabled: in mode cronjob the alerts need the metrics every run pushes: set pushgateway"},
		{"bad failure window", []string{minimal}, []string{"mode=agent", "agent.tokenSecretRef.name=lifeboat-api", "metrics.prometheusRule.enabled=true", "metrics.prometheusRule.failureWindow=1 hour"}, "at '/metrics/prometheusRule/failureWindow': '1 hour' does not match pattern"},
		{"auto-restore without nodes", []string{minimal}, []string{"vault.autoRestore.enabled=true"}, "vault.nodes: required with vault.autoRestore"},
		{"auto-restore of encrypted backups without the identity", valueSets[1].paths(), []string{"vault.autoRestore.identitySecretRef.name="}, "vault.autoRestore.identitySecretRef.name: required when encryption.age is on"},
		{"alias destination without a type", []string{minimal}, []string{"vault.backup.destination.bucket=b"}, "vault.backup.destination.type: required (s3, gcs, azure or file)"},
		{"alias destination and destinations", []string{minimal}, []string{"vault.backup.destination.type=s3", "vault.backup.destination.bucket=b", "vault.backup.destinations={s3-primary}"}, "vault.backup.destination: not together with vault.backup.destinations"},
		{"alias destination named like another", []string{minimal}, []string{"vault.backup.destination.type=s3", "vault.backup.destination.bucket=b", "vault.backup.destination.name=s3-primary"}, `destinations: "s3-primary" is defined twice, in destinations and by vault.backup.destination`},
		{"alias destination misspelt", []string{minimal}, []string{"vault.backup.destination.bukcet=b"}, "at '/vault/backup/destination': additional properties 'bukcet' not allowed"},
		{"inCluster without a service", []string{minimal}, []string{"workflows.metadataDatabase.backup.enabled=true", "workflows.metadataDatabase.inCluster.port=5433"}, "workflows.metadataDatabase.inCluster.service: required"},
		{"inCluster and external", []string{minimal}, []string{"workflows.metadataDatabase.backup.enabled=true", "workflows.metadataDatabase.inCluster.service=pg", "workflows.metadataDatabase.external.host=db"}, "workflows.metadataDatabase: inCluster and external are both set"},
		{"inCluster and host", []string{minimal}, []string{"workflows.metadataDatabase.backup.enabled=true", "workflows.metadataDatabase.inCluster.service=pg", "workflows.metadataDatabase.host=db"}, "workflows.metadataDatabase.inCluster: not together with workflows.metadataDatabase.host"},
		{"external and a DSN", []string{minimal}, []string{"workflows.metadataDatabase.backup.enabled=true", "workflows.metadataDatabase.external.host=db", "workflows.metadataDatabase.dsnSecretRef.name=dsn"}, "workflows.metadataDatabase.external: not together with workflows.metadataDatabase.dsnSecretRef"},
		{"platform config without namespaces", []string{minimal}, []string{"platformConfig.backup.enabled=true"}, "platformConfig.namespaces: required"},
		{"platform config with namespaces and a selector", []string{minimal}, []string{"platformConfig.backup.enabled=true", "platformConfig.namespaces={argo}", "platformConfig.namespaceSelector=a=b"}, "platformConfig.namespaceSelector: not together with platformConfig.namespaces"},
		{"platform config restore without a backup", []string{minimal}, []string{"platformConfig.restore.enabled=true", "platformConfig.namespaces={argo}"}, "platformConfig.restore.resources: required"},
		{"platform config resource in kubectl's other spelling", []string{minimal}, []string{"platformConfig.backup.enabled=true", "platformConfig.namespaces={argo}", "platformConfig.resources={ConfigMaps}"}, "at '/platformConfig/resources/0': 'ConfigMaps' does not match pattern"},
		{"webhook notifier without a url", []string{minimal}, []string{"notifications[0].name=ops", "notifications[0].type=webhook", "notifications[0].secretRef.name=hook"}, "at '/notifications/0': missing property 'url'"},
		{"notifier without a Secret", []string{minimal}, []string{"notifications[0].name=chat", "notifications[0].type=slack"}, "at '/notifications/0': missing property 'secretRef'"},
		{"slack URL in the values", []string{minimal}, []string{"notifications[0].name=chat", "notifications[0].type=slack", "notifications[0].secretRef.name=slack", "notifications[0].url=https://hooks.slack.com/services/T/B/x"}, "notifications[chat].url: a slack notifier's URL embeds Slack's token: put it in the Secret"},
		{"unknown notification event", []string{minimal}, []string{"notifications[0].name=chat", "notifications[0].type=slack", "notifications[0].secretRef.name=slack", "notifications[0].events={failed}"}, "at '/notifications/0/events/0': value must be one of"},
		{"signing key without public keys", []string{minimal}, []string{"signing.privateKeySecretRef.name=lifeboat-signing"}, "signing.publicKeys: required with signing.privateKeySecretRef"},
		{"signing public key of another kind", []string{minimal}, []string{"signing.publicKeys={age1abc}"}, "at '/signing/publicKeys/0': 'age1abc' does not match pattern"},
		{"bad alert age", []string{minimal}, []string{"metrics.prometheusRule.enabled=true", "pushgateway=http://pg:9091", "vault.backup.maxAge=3 hours"}, "at '/vault/backup/maxAge': '3 hours' does not match pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"template", releaseName, chartDir(), "--namespace", namespace, "--kube-version", kubeVersion}
			for _, f := range tc.files {
				args = append(args, "--values", f)
			}
			for _, s := range tc.sets {
				args = append(args, "--set", s)
			}
			_, errOut, err := runHelm(t, args...)
			if err == nil {
				t.Fatalf("helm template succeeded; want an error containing %q", tc.wanted)
			}
			if !strings.Contains(errOut, tc.wanted) {
				t.Fatalf("want an error containing %q, got:\n%s", tc.wanted, errOut)
			}
		})
	}
}

// The chart's seal types and the seal parameters it refuses as credentials are lifeboat's
// own (config.SealTypes, config.SealSecretParameters): a type lifeboat learns is not
// refused by the schema, and no credential slips into the ConfigMap as a parameter.
func TestSealListsMatchLifeboat(t *testing.T) {
	helmBin(t)
	var schema struct {
		Properties struct {
			Vault struct {
				Properties struct {
					Drill struct {
						Properties struct {
							Seal struct {
								Properties struct {
									Type struct {
										Enum []string `json:"enum"`
									} `json:"type"`
								} `json:"properties"`
							} `json:"seal"`
						} `json:"properties"`
					} `json:"drill"`
				} `json:"properties"`
			} `json:"vault"`
		} `json:"properties"`
	}
	data, err := os.ReadFile(filepath.Join(chartDir(), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	enum := schema.Properties.Vault.Properties.Drill.Properties.Seal.Properties.Type.Enum
	if want := append([]string{""}, config.SealTypes...); !slices.Equal(enum, want) {
		t.Errorf("values.schema.json: vault.drill.seal.type must be one of %q, want %q", enum, want)
	}
	minimal := valueSets[0].paths()[0]
	for _, name := range config.SealSecretParameters {
		t.Run(name, func(t *testing.T) {
			args := []string{"template", releaseName, chartDir(), "--namespace", namespace, "--kube-version", kubeVersion,
				"--values", minimal, "--set", "vault.drill.enabled=true", "--set", "vault.drill.tokenSecretRef.name=t",
				"--set", "vault.drill.seal.type=transit", "--set", "vault.drill.seal.parameters." + name + "=x"}
			_, errOut, err := runHelm(t, args...)
			want := "vault.drill.seal.parameters." + name + ": is a credential"
			if err == nil || !strings.Contains(errOut, want) {
				t.Errorf("helm template with the credential %s as a seal parameter: %v, want an error containing %q:\n%s", name, err, want, errOut)
			}
		})
	}
}
