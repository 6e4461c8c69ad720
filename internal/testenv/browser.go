package testenv

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium finds the Debian chromium (scripts/install-servers.sh chromium).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	Missing(t, "chromium is not installed: run scripts/install-servers.sh chromium")
	return ""
}

// Browser starts a headless Chromium with a fresh profile, for the test's life. The flags
// keep it from calling home (updates, sync, QUIC probes), and run it as root in a
// container.
func Browser(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

var artifactDirs sync.Map // test name -> directory

// ArtifactDir is where a test leaves files for a person to look at afterwards, such as
// screenshots: $LIFEBOAT_TEST_ARTIFACTS/<test name> when that is set (CI keeps the
// directory; emptied when the test first uses it), else a temporary directory that outlives the test, whose path is logged.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	if d, ok := artifactDirs.Load(name); ok {
		return d.(string)
	}
	var dir string
	var err error
	if root := os.Getenv("LIFEBOAT_TEST_ARTIFACTS"); root != "" {
		dir = filepath.Join(root, name)
		// Fresh for each run: a screenshot left by an earlier run would mislead.
		if err = os.RemoveAll(dir); err == nil {
			err = os.MkdirAll(dir, 0o755)
		}
	} else {
		dir, err = os.MkdirTemp("", "lifeboat-artifacts-"+name+"-")
	}
	if err != nil {
		t.Fatalf("test artifacts directory: %v", err)
	}
	d, loaded := artifactDirs.LoadOrStore(name, dir)
	if !loaded {
		t.Logf("test artifacts (screenshots) in %s", dir)
	}
	return d.(string)
}

// Screenshot saves the browser's whole current page as <name>.png in ArtifactDir and
// returns the file's path. A screenshot that fails is logged, not fatal: it is evidence
// for a person, not what the test checks.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(ArtifactDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	return path
}

// Count is how many elements of the current page match the CSS selector, zero included
// (chromedp's queries wait for at least one).
func Count(ctx context.Context, selector string) (int, error) {
	quoted, err := json.Marshal(selector) // a JavaScript string literal
	if err != nil {
		return 0, err
	}
	return chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll("+string(quoted)+").length"))
}
