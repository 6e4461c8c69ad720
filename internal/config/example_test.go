package config

import (
	"os"
	"testing"

	"github.com/lifeboat-backup/lifeboat/internal/catalog"
)

// The shipped example documents every field; parsing it keeps it in step with the code.
func TestExampleConfigValidates(t *testing.T) {
	c, err := Load("../../examples/lifeboat.yaml")
	if err != nil {
		t.Fatalf("examples/lifeboat.yaml: %v", err)
	}
	if len(c.Sources) != 3 || len(c.Destinations) != 2 {
		t.Fatalf("example has %d sources, %d destinations", len(c.Sources), len(c.Destinations))
	}
	minio, err := c.Destination("minio")
	if err != nil {
		t.Fatal(err)
	}
	want := catalog.Policy{KeepWithin: catalog.Age{Days: 7}, KeepDaily: 14, KeepWeekly: 8, KeepMonthly: 12,
		MaxAgeOtherLineages: catalog.Age{Days: 90}}
	if minio.Retention != want {
		t.Errorf("minio retention = %v, want %v", minio.Retention, want)
	}
	if got := c.Sources[0].Shrink(); got != 0.5 {
		t.Errorf("example suspiciousShrink = %g, want 0.5", got)
	}
	recipients, err := c.Encryption.Age.LoadRecipients()
	if err != nil || len(recipients) != 1 {
		t.Errorf("example recipients: %v, %v", recipients, err)
	}
}

// Parse must never panic, whatever the document, and what it accepts must validate.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../../examples/lifeboat.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(minimal))
	f.Add([]byte("sources: {name: vault}\ndestinations: [oops, {file: [1]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Parse accepted a config that does not validate: %v", verr)
			}
		}
	})
}
