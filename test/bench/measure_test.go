package bench

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// usage is what one child process cost, as the kernel accounted it.
type usage struct {
	peakRSS int64 // bytes
	// The largest RssAnon and RssFile sampled (every 5 ms) while it ran: what the
	// process allocated, and the pages of its executable mapped from the page cache.
	peakAnon, peakFile int64
	cpu                time.Duration
	wall               time.Duration
}

// run runs argv to completion under the rusage launcher and fails the benchmark unless
// it exits 0. Measuring a child process, not a function call in the benchmark's own
// process, is what makes lifeboat's memory comparable with the classic script's tools.
func (bins binaries) run(b *testing.B, env []string, argv ...string) (usage, string) {
	b.Helper()
	wall, us, outs := bins.pipeline(b, nil, stage{env: env, argv: argv})
	us[0].wall = wall
	return us[0], outs[0]
}

// stage is one command of a pipeline, with the environment it adds to the benchmark's.
type stage struct {
	env  []string
	argv []string
}

// pipeline runs stages like a shell pipeline with pipefail: each stage's standard output
// is the next one's standard input, and every stage must exit 0 (a pg_dump that fails
// half-way leaves its uploader a short stream that uploads fine). Each stage runs under
// the rusage launcher. The last stage's standard output goes to out, or, when out is
// nil, into the stage's output (which also holds every stage's standard error). It
// returns the wall time from the first start to the last exit, and each stage's usage
// (with no wall time of its own) and output.
func (bins binaries) pipeline(b *testing.B, out io.Writer, stages ...stage) (time.Duration, []usage, []string) {
	b.Helper()
	cmds := make([]*exec.Cmd, len(stages))
	outs := make([]bytes.Buffer, len(stages))
	files := make([]string, len(stages))
	var pipeEnds []*os.File // closed in this process once the children hold them
	for i, st := range stages {
		f, err := os.CreateTemp(bins.dir, "rusage-")
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
		files[i] = f.Name()
		defer os.Remove(f.Name())
		cmd := exec.Command(bins.rusage, append([]string{"-o", f.Name()}, st.argv...)...)
		cmd.Env = append(os.Environ(), st.env...)
		cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		if i > 0 {
			r, w, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			cmds[i-1].Stdout, cmd.Stdin = w, r
			pipeEnds = append(pipeEnds, r, w)
		}
		cmds[i] = cmd
	}
	if out != nil {
		cmds[len(cmds)-1].Stdout = out
	}
	start := time.Now()
	var startErr error
	for _, cmd := range cmds {
		if startErr = cmd.Start(); startErr != nil {
			break
		}
	}
	for _, f := range pipeEnds {
		f.Close()
	}
	errs := make([]error, len(cmds))
	for i, cmd := range cmds {
		if cmd.Process != nil {
			errs[i] = cmd.Wait()
		}
	}
	wall := time.Since(start)
	if startErr != nil {
		b.Fatalf("start %s: %v", strings.Join(stages[0].argv, " "), startErr)
	}
	us := make([]usage, len(stages))
	texts := make([]string, len(stages))
	for i, st := range stages {
		texts[i] = outs[i].String()
		if errs[i] != nil {
			b.Fatalf("%s: %v\n%s", strings.Join(st.argv, " "), errs[i], texts[i])
		}
		us[i] = readUsage(b, files[i], st.argv[0])
	}
	return wall, us, texts
}

// readUsage reads what the launcher wrote for the command argv0.
func readUsage(b *testing.B, file, argv0 string) usage {
	b.Helper()
	var maxrssKiB, userNs, sysNs, anonKiB, fileKiB int64
	data, err := os.ReadFile(file)
	if err == nil {
		_, err = fmt.Sscan(string(data), &maxrssKiB, &userNs, &sysNs, &anonKiB, &fileKiB)
	}
	if err != nil {
		b.Fatalf("read the rusage of %s: %v (%q)", argv0, err, data)
	}
	// Linux reports ru_maxrss in KiB (testenv, and so this package, is Linux-only).
	return usage{peakRSS: maxrssKiB << 10, peakAnon: anonKiB << 10, peakFile: fileKiB << 10, cpu: time.Duration(userNs + sysNs)}
}

// stats accumulates a sub-benchmark's iterations.
type stats struct {
	runs      int
	peakRSS   int64                    // the largest of any step of any run
	peakAnon  int64                    // likewise, the largest RssAnon sampled
	peakFile  int64                    // and RssFile
	stepRSS   map[string]int64         // the largest per step, for the log
	stepWall  map[string]time.Duration // summed, like stepCPU
	stepCPU   map[string]time.Duration
	cpu       time.Duration // all steps of all runs
	wall      time.Duration // all runs, each from its first step's start to its last step's end
	stagingPk int64         // the most bytes seen in the staging directory
}

func (s *stats) add(step string, u usage) {
	if s.stepRSS == nil {
		s.stepRSS, s.stepWall, s.stepCPU = map[string]int64{}, map[string]time.Duration{}, map[string]time.Duration{}
	}
	s.stepWall[step] += u.wall
	s.stepCPU[step] += u.cpu
	s.stepRSS[step] = max(s.stepRSS[step], u.peakRSS)
	s.peakRSS = max(s.peakRSS, u.peakRSS)
	s.peakAnon, s.peakFile = max(s.peakAnon, u.peakAnon), max(s.peakFile, u.peakFile)
	s.cpu += u.cpu
}

// endRun ends one iteration that took wall and saw staging bytes in the staging directory.
func (s *stats) endRun(staging int64, wall time.Duration) {
	s.runs++
	s.stagingPk = max(s.stagingPk, staging)
	s.wall += wall
}

// meanWall is the mean wall time of one run, the figure the ratios between sub-benchmarks
// are computed from (ns/op is the same figure, but a benchmark cannot read it).
func (s *stats) meanWall() time.Duration {
	if s.runs == 0 {
		return 0
	}
	return s.wall / time.Duration(s.runs)
}

// size is a metric in bytes, reported in MiB under name (such as "snapshot-MiB").
type size struct {
	name  string
	bytes int64
}

// report reports the metrics every benchmark here has, after the sizes given.
func (s *stats) report(b *testing.B, sizes ...size) {
	const mib = 1 << 20
	if s.runs == 0 {
		return
	}
	for _, sz := range sizes {
		b.ReportMetric(float64(sz.bytes)/mib, sz.name)
	}
	b.ReportMetric(float64(s.peakRSS)/mib, "peak-RSS-MiB")
	b.ReportMetric(float64(s.peakAnon)/mib, "peak-anon-MiB")
	b.ReportMetric(float64(s.peakFile)/mib, "peak-file-MiB")
	b.ReportMetric(float64(s.stagingPk)/mib, "staging-disk-MiB")
	b.ReportMetric(s.cpu.Seconds()/float64(s.runs), "cpu-s/op")
	var steps []string
	for _, step := range slices.Sorted(maps.Keys(s.stepRSS)) {
		steps = append(steps, fmt.Sprintf("%s: wall %.2fs, cpu %.2fs, peak RSS %.1f MiB", step,
			s.stepWall[step].Seconds()/float64(s.runs), s.stepCPU[step].Seconds()/float64(s.runs), float64(s.stepRSS[step])/mib))
	}
	b.Logf("by step, per run (a step run twice is summed) over %d runs: %s", s.runs, strings.Join(steps, "; "))
}

// watchDisk samples how many bytes the files under dir hold, every 50 ms, until the
// returned stop is called, and returns the most it saw. The classic script needs that
// much free disk (an emptyDir in Kubernetes) besides its destinations; lifeboat streams
// and should need none. Every child's TMPDIR is dir, so a temp file would be seen.
func watchDisk(dir string) (stop func() int64) {
	var (
		mu   sync.Mutex
		peak int64
		done = make(chan struct{})
		wg   sync.WaitGroup
	)
	sample := func() {
		var n int64
		_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // a file removed while walking
			}
			if info, err := d.Info(); err == nil && !d.IsDir() {
				n += info.Size()
			}
			return nil
		})
		mu.Lock()
		peak = max(peak, n)
		mu.Unlock()
	}
	wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			sample()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() int64 {
		close(done)
		wg.Wait()
		return peak
	}
}
