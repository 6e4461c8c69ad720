// Package recovery brings single secrets back from a backup: the snapshot is restored into
// a scratch Vault, the requested KV paths are read there, and written back into the live
// Vault — only those paths, and only when asked (a dry run is the default).
package recovery

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sort"
	"strings"

	vaultapi "github.com/hashicorp/vault/api"
)

// Actions a Change can plan.
const (
	ActionCreate    = "create"
	ActionUpdate    = "update"
	ActionUnchanged = "unchanged"
	// ActionSkip is a secret the backup lists but holds no data for: its latest KV v2
	// version was deleted or destroyed when the backup was taken. Writing that back would
	// send {"data": null}, which Vault rejects, and would not recover anything.
	ActionSkip = "skip"
)

// NoteDeletedInBackup explains an ActionSkip to the operator.
const NoteDeletedInBackup = "deleted or destroyed when the backup was taken: not written, " +
	"the live secret is left as it is; recover it from an older backup (--backup <id>)"

// Change is what recovering one secret does to the live Vault.
type Change struct {
	From   string // path in the backup
	To     string // path in the live Vault
	Action string // one of the Action constants
	Note   string // why, for an action that needs explaining (skip)
	Keys   []string
	data   map[string]any
	v2     bool // the live path is on a KV v2 engine
}

// Writes reports whether Apply writes this change into the live Vault.
func (c Change) Writes() bool {
	return (c.Action == ActionCreate || c.Action == ActionUpdate) && c.data != nil
}

// decide compares a secret's data in the backup with the live one; nil means no data
// (missing, deleted or destroyed).
func decide(backup, live map[string]any) (action, note string) {
	switch {
	case backup == nil:
		return ActionSkip, NoteDeletedInBackup
	case live == nil:
		return ActionCreate, ""
	case reflect.DeepEqual(live, backup):
		return ActionUnchanged, ""
	default:
		return ActionUpdate, ""
	}
}

// kvPath is an API path split around a KV mount.
type kvPath struct {
	mount   string // "secret/"
	rel     string // "app/db" (without data/ for v2)
	version int    // 1 or 2
}

func (p kvPath) dataPath() string {
	if p.version == 2 {
		return p.mount + "data/" + p.rel
	}
	return p.mount + p.rel
}

func (p kvPath) listPath() string {
	if p.version == 2 {
		return p.mount + "metadata/" + p.rel
	}
	return p.mount + p.rel
}

// parsePath finds the KV mount of an API path ("secret/data/app/db" or "secret/app/db").
func parsePath(ctx context.Context, c *vaultapi.Client, path string) (kvPath, error) {
	mounts, err := c.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return kvPath{}, fmt.Errorf("list secret engines: %w", err)
	}
	path = strings.Trim(path, "/")
	best := ""
	for m, info := range mounts {
		if (info.Type == "kv" || info.Type == "generic") && strings.HasPrefix(path+"/", m) && len(m) > len(best) {
			best = m
		}
	}
	if best == "" {
		return kvPath{}, fmt.Errorf("%s is not under a KV secrets engine in the backup", path)
	}
	p := kvPath{mount: best, rel: strings.TrimPrefix(path+"/", best), version: 1}
	p.rel = strings.Trim(p.rel, "/")
	if mounts[best].Options["version"] == "2" {
		p.version = 2
		p.rel = strings.TrimPrefix(strings.TrimPrefix(p.rel, "data/"), "metadata/")
		if p.rel == "data" || p.rel == "metadata" {
			p.rel = ""
		}
	}
	return p, nil
}

// read returns the secret's data at p, nil when it does not exist. A KV v2 secret whose
// latest version is deleted or destroyed is still listed under metadata/, but reads as
// nil here: Vault answers 404 with its metadata and "data": null.
func read(ctx context.Context, c *vaultapi.Client, p kvPath) (map[string]any, error) {
	sec, err := c.Logical().ReadWithContext(ctx, p.dataPath())
	if err != nil || sec == nil {
		return nil, err
	}
	if p.version == 2 {
		d, _ := sec.Data["data"].(map[string]any)
		return d, nil
	}
	return sec.Data, nil
}

// walk lists p itself (when it is a secret) and every secret below it.
func walk(ctx context.Context, c *vaultapi.Client, p kvPath) ([]kvPath, error) {
	var out []kvPath
	if p.rel != "" {
		d, err := read(ctx, c, p)
		if err != nil {
			return nil, err
		}
		if d != nil {
			out = append(out, p)
		}
	}
	sec, err := c.Logical().ListWithContext(ctx, p.listPath())
	if err != nil {
		return nil, err
	}
	if sec == nil {
		return out, nil
	}
	keys, _ := sec.Data["keys"].([]any)
	for _, k := range keys {
		name := fmt.Sprint(k)
		child := p
		child.rel = strings.TrimPrefix(strings.TrimSuffix(p.rel, "/")+"/"+name, "/")
		if strings.HasSuffix(name, "/") {
			child.rel = strings.TrimSuffix(child.rel, "/")
			sub, err := walk(ctx, c, child)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		out = append(out, child)
	}
	return out, nil
}

// Plan reads path (a secret or a prefix) from the restored copy and compares each
// secret with the live Vault. toPath, when set, replaces path's prefix in the live Vault.
func Plan(ctx context.Context, restored, live *vaultapi.Client, path, toPath string) ([]Change, error) {
	from, err := parsePath(ctx, restored, path)
	if err != nil {
		return nil, err
	}
	dest := from
	if toPath != "" {
		if dest, err = parsePath(ctx, live, toPath); err != nil {
			return nil, fmt.Errorf("--to-path: %w", err)
		}
	} else if dest, err = parsePath(ctx, live, path); err != nil {
		return nil, fmt.Errorf("live Vault: %w", err)
	}
	secrets, err := walk(ctx, restored, from)
	if err != nil {
		return nil, fmt.Errorf("read %s from the backup: %w", path, err)
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%s holds no secrets in the backup", path)
	}
	var changes []Change
	for _, s := range secrets {
		data, err := read(ctx, restored, s)
		if err != nil {
			return nil, err
		}
		target := dest
		target.rel = strings.Trim(dest.rel+"/"+strings.TrimPrefix(strings.TrimPrefix(s.rel, from.rel), "/"), "/")
		current, err := read(ctx, live, target)
		if err != nil {
			return nil, fmt.Errorf("read %s in the live Vault: %w", target.dataPath(), err)
		}
		ch := Change{From: s.dataPath(), To: target.dataPath(), data: data, Keys: sortedKeys(data), v2: target.version == 2}
		ch.Action, ch.Note = decide(data, current)
		changes = append(changes, ch)
	}
	return changes, nil
}

// Apply writes every created or updated secret into the live Vault; unchanged and
// skipped secrets are not touched.
func Apply(ctx context.Context, live *vaultapi.Client, changes []Change) error {
	var errs []error
	for _, ch := range changes {
		if !ch.Writes() {
			continue
		}
		body := maps.Clone(ch.data)
		if ch.v2 {
			body = map[string]any{"data": ch.data} // KV v2 writes take the secret under "data"
		}
		if _, err := live.Logical().WriteWithContext(ctx, ch.To, body); err != nil {
			errs = append(errs, fmt.Errorf("write %s: %w", ch.To, err))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
