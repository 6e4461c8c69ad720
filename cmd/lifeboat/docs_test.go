package main

// Docs against the code: what README.md, docs/, the chart's README and values and the
// example values say about exit codes, error messages, Secret names and links must be
// what this binary does. An operator in an incident acts on what they read.

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// repoRoot is the repository, seen from this package's directory (go test's working
// directory).
var repoRoot = filepath.Join("..", "..")

func readRepo(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// docFiles are the documents an operator reads: README.md, docs/*.md and the chart's
// README.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil || len(files) < 5 {
		t.Fatalf("docs: %v %v", files, err)
	}
	var out []string
	for _, f := range files {
		rel, _ := filepath.Rel(repoRoot, f)
		out = append(out, rel)
	}
	return append(out, "README.md", filepath.Join("deploy", "helm", "lifeboat", "README.md"))
}

// allCommands is every command of the tree, the root first.
func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		if sub.Name() == "help" || sub.Name() == "completion" {
			continue
		}
		out = append(out, allCommands(sub)...)
	}
	return out
}

// exitCodes are the codes a command's help lists under "Exit codes:", each with its text
// (continuation lines included).
func exitCodes(c *cobra.Command) map[int]string {
	_, block, ok := strings.Cut(c.Long, "\nExit codes:\n")
	if !ok {
		return nil
	}
	out := map[int]string{}
	last := -1
	for _, line := range strings.Split(block, "\n") {
		if m := regexp.MustCompile(`^  (\d)  (.*)$`).FindStringSubmatch(line); m != nil {
			last, _ = strconv.Atoi(m[1])
			out[last] = m[2]
		} else if strings.HasPrefix(line, "     ") && last >= 0 {
			out[last] += " " + strings.TrimSpace(line)
		} else {
			break
		}
	}
	return out
}

// The root's help says which commands exit 2; that is exactly the commands whose own
// help lists exit code 2. Every command documents its exit codes.
func TestRootHelpNamesEveryCommandThatExits2(t *testing.T) {
	root := newRootCmd()
	var want []string
	for _, c := range allCommands(root)[1:] {
		if !c.Runnable() || c.Hidden || c.HasSubCommands() {
			continue // a command that groups others only shows their help
		}
		codes := exitCodes(c)
		if codes == nil {
			t.Errorf("%s: its help lists no exit codes", c.CommandPath())
			continue
		}
		for code := range codes {
			if code > exitUsage {
				t.Errorf("%s: exit code %d is not one of main.go's", c.CommandPath(), code)
			}
		}
		if _, ok := codes[exitPartial]; ok {
			want = append(want, c.Name())
		}
	}
	rootCodes := exitCodes(root)
	var named []string
	for _, w := range regexp.MustCompile(`[a-z-]+`).FindAllString(rootCodes[exitPartial], -1) {
		if c, _, err := root.Find([]string{w}); err == nil && c != root && c.Name() == w && !slices.Contains(named, w) {
			named = append(named, w)
		}
	}
	slices.Sort(want)
	slices.Sort(named)
	if !slices.Equal(named, want) {
		t.Errorf("lifeboat --help says exit code 2 is for %v; the commands whose help lists exit code 2 are %v", named, want)
	}
}

// README's commands table: where a row names exit codes, they are the command's, and a
// command that can exit 2 says so.
func TestReadmeCommandsExitCodes(t *testing.T) {
	root := newRootCmd()
	rows := regexp.MustCompile("(?m)^\\| `([a-z-]+)[^`]*` \\| (.*) \\|$").FindAllStringSubmatch(readRepo(t, "README.md"), -1)
	if len(rows) < 10 {
		t.Fatalf("README.md: found %d rows in the commands table", len(rows))
	}
	for _, r := range rows {
		c, _, err := root.Find([]string{r[1]})
		if err != nil || c == root {
			t.Errorf("README.md lists command %q, which lifeboat does not have", r[1])
			continue
		}
		if c.HasSubCommands() {
			continue // e.g. "vault auto-restore": the row is about the subcommand
		}
		codes := exitCodes(c)
		_, partial := codes[exitPartial]
		m := regexp.MustCompile(`exit ((?:\d(?: / |, | or )?)+)`).FindStringSubmatch(r[2])
		if m == nil {
			if partial {
				t.Errorf("README.md: the row of %s does not say it exits 2 (%s)", r[1], codes[exitPartial])
			}
			continue
		}
		said := regexp.MustCompile(`\d`).FindAllString(m[1], -1)
		for _, d := range said {
			code, _ := strconv.Atoi(d)
			if _, ok := codes[code]; !ok {
				t.Errorf("README.md: %s exits %d, says the row; its help lists %v", r[1], code, codes)
			}
		}
		if partial && !slices.Contains(said, "2") {
			t.Errorf("README.md: the row of %s does not say it exits 2 (%s)", r[1], codes[exitPartial])
		}
	}
}

// The Secret holding the unseal keys for auto-restore has one name everywhere: the chart's
// default, the full example values, the Vault chart snippet, the docs and --help.
func TestUnsealKeysSecretIsNamedAlikeEverywhere(t *testing.T) {
	var full struct {
		Vault struct {
			AutoRestore struct {
				UnsealKeysSecret struct{ Namespace, Name, Key string } `json:"unsealKeysSecret"`
			} `json:"autoRestore"`
		} `json:"vault"`
	}
	if err := yaml.Unmarshal([]byte(readRepo(t, "deploy/examples/lifeboat-full.yaml")), &full); err != nil {
		t.Fatal(err)
	}
	ref := full.Vault.AutoRestore.UnsealKeysSecret
	want := ref.Namespace + "/" + ref.Name + ":" + ref.Key
	if ref.Namespace == "" || ref.Name == "" || ref.Key == "" {
		t.Fatalf("lifeboat-full.yaml: vault.autoRestore.unsealKeysSecret is incomplete: %+v", ref)
	}
	var chart struct {
		Vault struct {
			AutoRestore struct {
				UnsealKeysSecret struct{ Name string } `json:"unsealKeysSecret"`
			} `json:"autoRestore"`
		} `json:"vault"`
	}
	if err := yaml.Unmarshal([]byte(readRepo(t, "deploy/helm/lifeboat/values.yaml")), &chart); err != nil {
		t.Fatal(err)
	}
	if got := chart.Vault.AutoRestore.UnsealKeysSecret.Name; got != ref.Name {
		t.Errorf("the chart's default unseal-keys Secret is %q, lifeboat-full.yaml's %q", got, ref.Name)
	}

	texts := map[string]string{}
	for _, f := range docFiles(t) {
		texts[f] = readRepo(t, f)
	}
	examples, _ := filepath.Glob(filepath.Join(repoRoot, "deploy", "examples", "*.yaml"))
	for _, f := range append(examples, filepath.Join(repoRoot, "deploy", "helm", "lifeboat", "values.yaml")) {
		rel, _ := filepath.Rel(repoRoot, f)
		texts[rel] = readRepo(t, rel)
	}
	for _, c := range allCommands(newRootCmd()) {
		texts[c.CommandPath()+" --help"] = c.Long + "\n" + c.Example
	}
	seen := 0
	flagRE := regexp.MustCompile(`--unseal-keys-secret[ =]([^\s;` + "`" + `'")]+)`)
	for where, text := range texts {
		for _, m := range flagRE.FindAllStringSubmatch(text, -1) {
			if strings.ContainsAny(m[1], "<[") || strings.HasPrefix(m[1], "namespace/") {
				continue // the syntax, not a name
			}
			seen++
			if m[1] != want {
				t.Errorf("%s: --unseal-keys-secret %s; the chart grants and the examples create %s", where, m[1], want)
			}
		}
	}
	if seen < 3 {
		t.Errorf("found --unseal-keys-secret with a Secret only %d times", seen)
	}
}

// Links between the documents resolve to files in this repository: a reader of a release
// tarball or of the repository on the web has nothing else.
func TestDocLinksStayInTheRepository(t *testing.T) {
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	linkRE := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, f := range docFiles(t) {
		for _, m := range linkRE.FindAllStringSubmatch(readRepo(t, f), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			p := filepath.Join(abs, filepath.Dir(f), target)
			if rel, err := filepath.Rel(abs, p); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s links %s, outside the repository", f, m[1])
				continue
			}
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s links %s, which does not exist", f, m[1])
			}
		}
	}
}

// Wherever the docs or examples use the auto-restore container as a native sidecar, they
// say it needs Kubernetes 1.29 (the chart itself asks for 1.27).
func TestNativeSidecarSaysItsKubernetesVersion(t *testing.T) {
	files := append(docFiles(t), filepath.Join("deploy", "examples", "vault-values.yaml"))
	for _, f := range files {
		text := readRepo(t, f)
		if strings.Contains(strings.ToLower(text), "native sidecar") && !strings.Contains(text, "1.29") {
			t.Errorf("%s uses a native sidecar without saying it needs Kubernetes 1.29+", f)
		}
	}
}

// Every message the "Errors you may see" table of the Vault doc quotes is one the code
// can print: each piece between "…" fits one message of the code, where the code's
// formatting verbs (%s, %q, %w...) stand for any text. (The PostgreSQL doc's messages are
// assembled from several pieces naming the setting to fix; test/e2e checks them against
// what lifeboat prints against a real server.)
func TestDocumentedErrorsComeFromTheCode(t *testing.T) {
	formats := codeStrings(t)
	verbRE := regexp.MustCompile(`%[-+# 0-9.*]*[a-zA-Z]`)
	var pieces [][]string
	for _, s := range formats {
		pieces = append(pieces, verbRE.Split(s, -1))
	}
	for _, doc := range []string{"docs/vault-backup-restore.md"} {
		_, table, ok := strings.Cut(readRepo(t, doc), "## Errors you may see")
		if !ok {
			t.Fatalf("%s has no \"Errors you may see\" section", doc)
		}
		table, _, _ = strings.Cut(table, "\n## ")
		msgs := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(table, -1)
		if len(msgs) < 8 {
			t.Fatalf("%s: found only %d messages", doc, len(msgs))
		}
		for _, m := range msgs {
			for _, frag := range strings.Split(m[1], "…") {
				if strings.TrimSpace(frag) == "" {
					continue
				}
				if !slices.ContainsFunc(pieces, func(p []string) bool { return fitsFormat(frag, p) }) {
					t.Errorf("%s quotes %q: no message in the code reads %q", doc, m[1], frag)
				}
			}
		}
	}
}

// fitsFormat reports whether frag can be part of a message printed with a format whose
// literal pieces (split at the verbs) are given: frag may start and end anywhere, a verb
// matches any non-empty text, and at least half of frag (and no fewer than 8 characters,
// or all of a shorter frag) must be the format's own text.
func fitsFormat(frag string, pieces []string) bool {
	need := max(min(8, len(frag)), (len(frag)+1)/2)
	var best func(fi, pi, po int) int // most literal characters matched from here; -1 if none
	best = func(fi, pi, po int) int {
		if fi == len(frag) {
			return 0
		}
		if po < len(pieces[pi]) {
			if frag[fi] != pieces[pi][po] {
				return -1
			}
			if n := best(fi+1, pi, po+1); n >= 0 {
				return n + 1
			}
			return -1
		}
		if pi+1 == len(pieces) {
			return -1 // the format ends here, frag does not
		}
		out := 0 // frag may end inside the verb
		for k := fi + 1; k < len(frag); k++ {
			out = max(out, best(k, pi+1, 0))
		}
		return out
	}
	for pi, p := range pieces {
		for po := range len(p) {
			if best(0, pi, po) >= need {
				return true
			}
		}
		if pi > 0 { // frag starts inside the verb before this piece
			for k := 1; k < len(frag); k++ {
				if best(k, pi, 0) >= need {
					return true
				}
			}
		}
	}
	return false
}

// codeStrings are the string literals of lifeboat's non-test Go files.
func codeStrings(t *testing.T) []string {
	t.Helper()
	var out []string
	fset := token.NewFileSet()
	for _, dir := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && len(s) >= 8 {
						out = append(out, s)
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}
