// Command rusage runs a command and writes the peak RSS and CPU time the kernel
// accounted to it, for the benchmarks in test/bench.
//
// Why not read the rusage of a child started straight from the benchmark: Linux carries
// the RSS high-water mark of the process that forks into the child's ru_maxrss at exec
// (vfork shares the parent's mm; exec records its high-water mark). A child of the
// benchmark process, which peaks at tens of MiB, reports at least that much even for cp.
// This launcher is a few MiB, which is then the floor of every measurement; the
// benchmark logs it.
//
// It also samples the command's /proc/PID/status every 5 ms for the largest RssAnon
// (heap, stacks, buffers: what the process itself allocated) and RssFile (pages of its
// executable and libraries mapped in from the page cache, which the kernel shares between
// processes and may drop under pressure). The peak RSS is roughly their sum; how many
// file pages a Go binary maps depends on how its file sits in the page cache, so the
// split says what a change of code can move.
//
// Usage: rusage -o FILE COMMAND [ARG...]; FILE gets
// "maxrss_kib user_ns system_ns peak_anon_kib peak_file_kib". rusage exits with the
// command's status.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// rss reads RssAnon and RssFile (KiB) from a /proc/PID/status file; zeros once the
// process is gone.
func rss(status string) (anon, file int64) {
	f, err := os.Open(status)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "RssAnon" && name != "RssFile") {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if name == "RssAnon" {
			anon = n
		} else {
			file = n
		}
	}
	return anon, file
}

func main() {
	out := flag.String("o", "", "file to write \"maxrss_kib user_ns system_ns\" to")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: rusage -o FILE COMMAND [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Start()
	var anon, file int64
	if err == nil {
		done := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
			for {
				a, f := rss(status)
				anon, file = max(anon, a), max(file, f)
				select {
				case <-done:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		err = cmd.Wait()
		close(done)
		<-sampled
	}
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "rusage:", err)
		os.Exit(127)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	line := fmt.Sprintf("%d %d %d %d %d\n", ru.Maxrss, ru.Utime.Nano(), ru.Stime.Nano(), anon, file)
	if err := os.WriteFile(*out, []byte(line), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "rusage:", err)
		os.Exit(127)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		if code < 0 { // killed by a signal
			code = 128
		}
		os.Exit(code)
	}
}
