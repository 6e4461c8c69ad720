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
// Usage: rusage -o FILE COMMAND [ARG...]; FILE gets "maxrss_kib user_ns system_ns".
// rusage exits with the command's status.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	out := flag.String("o", "", "file to write \"maxrss_kib user_ns system_ns\" to")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: rusage -o FILE COMMAND [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "rusage:", err)
		os.Exit(127)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	line := fmt.Sprintf("%d %d %d\n", ru.Maxrss, ru.Utime.Nano(), ru.Stime.Nano())
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
