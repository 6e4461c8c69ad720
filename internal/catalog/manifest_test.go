package catalog

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func fullManifest() *Manifest {
	step := 7
	m := testManifest("workflows", t0, []byte("dump"))
	m.Source.Kind = "postgres"
	m.DataKey = "data.dump.zst.age"
	m.Compression = CompressionZstd
	m.Encryption = &Encryption{Kind: "age", Recipients: []string{"age1examplefingerprint"}}
	m.Postgres = &PostgresInfo{
		ServerVersion: "15.8", PgDumpVersion: "15.8", Database: "argo",
		SchemaHistoryStep: &step, TableRowCounts: map[string]int64{"argo_workflows": 12}, Globals: true,
	}
	m.Drills = []DrillRecord{{At: t0.Add(time.Hour), OK: true, Detail: "12 rows"}}
	return m
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for name, m := range map[string]*Manifest{"postgres": fullManifest(), "vault": func() *Manifest {
		m := testManifest("vault", t0, []byte("snap"))
		m.Vault = &VaultInfo{Version: "1.19.0", LeaderAddress: "https://vault-0:8200", RaftIndex: 42, RaftTerm: 3, ClusterID: "c1"}
		return m
	}(), "kubernetes": func() *Manifest {
		m := testManifest("platform", t0, []byte("tar"))
		m.Source.Kind = "kubernetes"
		m.Kubernetes = &KubernetesInfo{ServerVersion: "v1.33.13", Objects: []KubernetesCount{
			{Kind: "ConfigMap", Namespace: "argo", Count: 2}, {Group: "argoproj.io", Kind: "ClusterWorkflowTemplate", Count: 1}}}
		return m
	}()} {
		t.Run(name, func(t *testing.T) {
			data, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(data)
			if err != nil {
				t.Fatalf("Decode: %v\n%s", err, data)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("round trip differs:\n got %+v\nwant %+v", got, m)
			}
		})
	}
}

func TestEncodeWritesVersionAndUTC(t *testing.T) {
	m := testManifest("vault", t0, []byte("x"))
	m.FormatVersion = 0
	m.Created = t0.In(time.FixedZone("X", 7200))
	data, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if !strings.Contains(s, `"formatVersion": 1`) || !strings.Contains(s, `"created": "2026-11-20T15:30:00Z"`) {
		t.Errorf("unexpected encoding:\n%s", s)
	}
	if strings.Contains(s, "vault\":") || strings.Contains(s, "drills") || strings.Contains(s, "encryption") {
		t.Errorf("empty optional blocks were written:\n%s", s)
	}
	if m.Created.Location() == time.UTC {
		t.Error("Encode modified its argument")
	}
}

func TestDecodeErrors(t *testing.T) {
	valid := func() map[string]any {
		data, err := Encode(testManifest("vault", t0, []byte("x")))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name   string
		change func(m map[string]any)
		raw    string
		want   string
	}{
		{name: "not json", raw: "{", want: "not valid manifest JSON"},
		{name: "trailing", raw: `{"formatVersion":1} {}`, want: "unexpected data after the JSON object"},
		{name: "array", raw: `[]`, want: "not valid manifest JSON"},
		{name: "no version", change: func(m map[string]any) { delete(m, "formatVersion") }, want: "missing formatVersion"},
		{name: "future version", change: func(m map[string]any) { m["formatVersion"] = 2 }, want: "formatVersion 2 is not supported"},
		{name: "no id", change: func(m map[string]any) { delete(m, "id") }, want: "missing id"},
		{name: "bad id", change: func(m map[string]any) { m["id"] = "vault-yesterday" }, want: `invalid backup id "vault-yesterday"`},
		{name: "id of other source", change: func(m map[string]any) { m["id"] = "workflows-20261120T153000Z-abcd" }, want: `does not belong to source "vault"`},
		{name: "no kind", change: func(m map[string]any) { m["source"] = map[string]any{"name": "vault"} }, want: "missing source.kind"},
		{name: "no created", change: func(m map[string]any) { delete(m, "created") }, want: "missing created"},
		{name: "no dataKey", change: func(m map[string]any) { delete(m, "dataKey") }, want: "missing dataKey"},
		{name: "dataKey escapes", change: func(m map[string]any) { m["dataKey"] = "data.snap/../../other" }, want: "must be a file name"},
		{name: "dataKey not data", change: func(m map[string]any) { m["dataKey"] = "manifest.json" }, want: "must be a file name"},
		{name: "negative size", change: func(m map[string]any) { m["size"] = -1 }, want: "size -1 is negative"},
		{name: "no sha256", change: func(m map[string]any) { delete(m, "sha256") }, want: "missing sha256"},
		{name: "short sha256", change: func(m map[string]any) { m["sha256"] = "abc" }, want: `sha256 "abc" is not 64 lowercase hex digits`},
		{name: "upper sha256", change: func(m map[string]any) { m["sha256"] = strings.Repeat("A", 64) }, want: "not 64 lowercase hex digits"},
		{name: "compression", change: func(m map[string]any) { m["compression"] = "gzip" }, want: `compression "gzip" is not known`},
		{name: "encryption kind", change: func(m map[string]any) { m["encryption"] = map[string]any{"kind": "gpg", "recipients": []string{"x"}} }, want: `encryption kind "gpg"`},
		{name: "no recipients", change: func(m map[string]any) { m["encryption"] = map[string]any{"kind": "age"} }, want: "no recipients"},
		{name: "size as string", change: func(m map[string]any) { m["size"] = "12" }, want: "not valid manifest JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.raw)
			if tc.change != nil {
				m := valid()
				tc.change(m)
				var err error
				if data, err = json.Marshal(m); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Decode(data)
			if err == nil {
				t.Fatalf("Decode succeeded, want error containing %q", tc.want)
			}
			if !errors.Is(err, ErrInvalidManifest) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode error = %q, want ErrInvalidManifest containing %q", err, tc.want)
			}
		})
	}
}

func TestDecodeAcceptsUnknownFields(t *testing.T) {
	data, err := Encode(testManifest("vault", t0, []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "{", `{"addedLater": {"x": 1},`, 1))
	if _, err := Decode(data); err != nil {
		t.Errorf("Decode with an unknown field: %v", err)
	}
}

func FuzzDecodeManifest(f *testing.F) {
	for _, m := range []*Manifest{fullManifest(), testManifest("vault", t0, nil)} {
		data, err := Encode(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"formatVersion":1,"id":"a-20260101T000000Z-0000","source":{"kind":"k","name":"a"},` +
		`"created":"2026-01-01T01:00:00+01:00","dataKey":"data.x","sha256":"` + strings.Repeat("0", 64) + `",` +
		`"drills":[],"postgres":{"tableRowCounts":{}}}`))
	f.Add([]byte(`null`))
	if data, err := EncodeSigned(fullManifest(), NewSigner(newKey(f))); err == nil {
		f.Add(data)
		f.Add(bytes.Replace(data, []byte(`"signature": {`), []byte(`"extra": [1e400, "\u2028"], "signature": {"value": 7, `), 1))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode of a decoded manifest: %v", err)
		}
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode of a re-encoded manifest: %v\n%s", err, enc)
		}
		// What a signature was checked over may differ (Encode drops unknown fields);
		// the fields must not, and checking must never panic.
		_ = NewTrust([]ed25519.PublicKey{pubOf(newKey(t))}, false).Check(m)
		for _, x := range []*Manifest{m, m2} {
			if x.Signature != nil {
				x.Signature.message = nil
			}
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-encoded manifest decodes differently:\n%+v\n%+v", m, m2)
		}
	})
}
