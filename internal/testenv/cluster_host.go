package testenv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// hostState is what the cluster changes on the machine, captured before it starts so
// teardown can put it back: kubelet writes kernel sysctls, the bridge plugin enables
// forwarding, kube-proxy and CNI add iptables rules, containerd and kubelet leave mounts,
// network namespaces and cgroups behind.
type hostState struct {
	Dir          string            // the cluster's directory
	PID          int               // the test process that owns the cluster
	Sysctls      map[string]string // name -> value before
	IPTables     map[string][]byte // iptables-save / ip6tables-save output
	Netns        map[string]bool
	ShimSockets  map[string]bool // containerd 1.6's /run/containerd/s, whatever its state dir
	Cgroups      map[string]bool
	PathsCreated []string // machine-global paths that did not exist before
	LoAdded      []string
}

// hostStateFile keeps the captured state while a cluster runs, so a test process that was
// killed (a go test timeout) is cleaned up after by the next one instead of leaving the
// next cluster unable to start.
const hostStateFile = "/run/lifeboat-test-cluster.json"

func (h *hostState) save() error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return os.WriteFile(hostStateFile, data, 0o600)
}

// recoverAbandoned restores the host after a cluster whose process died without teardown.
func recoverAbandoned(logf func(string, ...any)) error {
	data, err := os.ReadFile(hostStateFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var h hostState
	if err := json.Unmarshal(data, &h); err != nil {
		return fmt.Errorf("%s: %w", hostStateFile, err)
	}
	if h.PID != 0 && h.PID != os.Getpid() && syscall.Kill(h.PID, 0) == nil {
		return fmt.Errorf("another test cluster is running on this machine (process %d, %s): one cluster per machine, since kubelet's ports and host paths are machine-wide", h.PID, h.Dir)
	}
	logf("test cluster: cleaning up after an earlier cluster in %s that was not torn down", h.Dir)
	if err := h.restore(h.Dir); err != nil {
		return fmt.Errorf("clean up after the earlier test cluster in %s: %w", h.Dir, err)
	}
	return os.RemoveAll(h.Dir)
}

// Sysctls kubelet (kernel defaults it "protects"), the CNI bridge plugin (forwarding) and
// kube-proxy may change.
var clusterSysctls = []string{
	"vm.overcommit_memory", "vm.panic_on_oom", "kernel.panic", "kernel.panic_on_oops",
	"kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes",
	"net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding", "net.ipv4.conf.all.route_localnet",
	"net.ipv6.conf.all.forwarding",
	"net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables",
	"net.netfilter.nf_conntrack_max",
}

// Machine-global paths the kubelet and CNI write to whatever their configuration says.
// containerd 1.6 keeps its shim sockets under /run/containerd/s whatever its state dir is.
var clusterGlobalPaths = []string{"/var/log/containers", "/var/log/pods", "/var/lib/cni", "/run/netns", "/var/run/netns", "/etc/cni", "/opt/cni", "/var/lib/kubelet", "/run/containerd"}

func sysctlPath(name string) string {
	return filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/"))
}

func captureHost(dir string) (*hostState, error) {
	h := &hostState{Dir: dir, PID: os.Getpid(), Sysctls: map[string]string{}, IPTables: map[string][]byte{}, Netns: map[string]bool{}, Cgroups: map[string]bool{}}
	for _, name := range clusterSysctls {
		if data, err := os.ReadFile(sysctlPath(name)); err == nil {
			h.Sysctls[name] = strings.TrimSpace(string(data))
		}
	}
	for _, tool := range []string{"iptables", "ip6tables"} {
		out, err := exec.Command(tool + "-save").Output()
		if err != nil {
			if tool == "iptables" {
				return nil, fmt.Errorf("iptables-save: %w", err)
			}
			continue
		}
		h.IPTables[tool] = out
	}
	for _, d := range []string{"/run/netns", "/var/run/netns"} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			h.Netns[filepath.Join(d, e.Name())] = true
		}
	}
	for _, cg := range listCgroups() {
		h.Cgroups[cg] = true
	}
	h.ShimSockets = map[string]bool{}
	for _, p := range shimSockets() {
		h.ShimSockets[p] = true
	}
	for _, p := range clusterGlobalPaths {
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			h.PathsCreated = append(h.PathsCreated, p)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "host-before.txt"), []byte(h.describe()), 0o644); err != nil {
		return nil, err
	}
	return h, h.save()
}

// describe is the captured state in a readable form, kept next to the logs so a teardown
// that could not restore something can be compared by hand.
func (h *hostState) describe() string {
	var b strings.Builder
	names := make([]string, 0, len(h.Sysctls))
	for n := range h.Sysctls {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "%s = %s\n", n, h.Sysctls[n])
	}
	fmt.Fprintf(&b, "cgroups: %d, netns: %d, created paths to remove: %v\n", len(h.Cgroups), len(h.Netns), h.PathsCreated)
	return b.String()
}

func (h *hostState) addLoopbackAddrs(cidrs ...string) error {
	out, err := exec.Command("ip", "-o", "addr", "show", "dev", "lo").Output()
	if err != nil {
		return fmt.Errorf("ip addr show lo: %w", err)
	}
	for _, cidr := range cidrs {
		if bytes.Contains(out, []byte(" "+cidr+" ")) {
			return fmt.Errorf("%s is already on lo: another test cluster is running on this machine, or an earlier one was not torn down (remove it with `ip addr del %s dev lo`)", cidr, cidr)
		}
		if out, err := exec.Command("ip", "addr", "add", cidr, "dev", "lo").CombinedOutput(); err != nil {
			return fmt.Errorf("ip addr add %s dev lo: %v: %s", cidr, err, out)
		}
		h.LoAdded = append(h.LoAdded, cidr)
	}
	return h.save()
}

// listCgroups lists the pod cgroups (the kubelet's kubepods tree, where the cgroupfs
// driver puts every pod) of every mounted v1 hierarchy or the v2 tree. Nothing else is
// touched: other cgroups on the machine (a desktop's sessions, systemd's units) are not
// the cluster's.
func listCgroups() []string {
	const root = "/sys/fs/cgroup"
	v2 := isV2Root()
	var out []string
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || path == root {
			return nil
		}
		parts := strings.Split(strings.TrimPrefix(path, root+"/"), "/")
		top := 0 // index of the cgroup directly below a hierarchy's root
		if !v2 {
			if len(parts) == 1 {
				return nil // a v1 hierarchy's root (cpu, memory, ...): walk into it
			}
			top = 1
		}
		if !strings.HasPrefix(parts[top], "kubepods") {
			return filepath.SkipDir
		}
		out = append(out, path)
		return nil
	})
	return out
}

func shimSockets() []string {
	entries, _ := os.ReadDir("/run/containerd/s")
	var out []string
	for _, e := range entries {
		out = append(out, filepath.Join("/run/containerd/s", e.Name()))
	}
	return out
}

// isV2Root reports whether /sys/fs/cgroup is a unified (v2) hierarchy.
func isV2Root() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// killPods SIGKILLs what is still running of the pods: every process in a cgroup that did
// not exist before, and the containerd shims serving this cluster's socket.
func (h *hostState) killPods(socket string) error {
	for _, cg := range listCgroups() {
		if h.Cgroups[cg] {
			continue
		}
		data, err := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte("containerd-shim")) && bytes.Contains(cmdline, []byte(socket)) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return nil
}

// restore undoes what the cluster did to the host; it keeps going after an error so one
// leftover does not leave the others behind, and reports them all.
func (h *hostState) restore(dir string) error {
	var errs []error
	// Processes first: a mount or cgroup in use cannot go.
	_ = h.killPods(filepath.Join(dir, "containerd.sock"))
	time.Sleep(200 * time.Millisecond)
	errs = append(errs, unmountUnder(dir))
	errs = append(errs, h.removeNetns())
	for _, p := range shimSockets() {
		if !h.ShimSockets[p] {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove containerd shim socket %s: %w", p, err))
			}
		}
	}
	if err := exec.Command("ip", "link", "show", bridgeName).Run(); err == nil {
		if out, err := exec.Command("ip", "link", "del", bridgeName).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("ip link del %s: %v: %s", bridgeName, err, out))
		}
	}
	for tool, saved := range h.IPTables {
		cmd := exec.Command(tool + "-restore")
		cmd.Stdin = bytes.NewReader(withEmptyTables(saved))
		if out, err := cmd.CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("%s-restore: %v: %s", tool, err, out))
		}
	}
	for name, value := range h.Sysctls {
		if err := os.WriteFile(sysctlPath(name), []byte(value), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("restore sysctl %s=%s: %w", name, value, err))
		}
	}
	lo, _ := exec.Command("ip", "-o", "addr", "show", "dev", "lo").Output()
	for _, cidr := range h.LoAdded {
		if !bytes.Contains(lo, []byte(" "+cidr+" ")) {
			continue
		}
		if out, err := exec.Command("ip", "addr", "del", cidr, "dev", "lo").CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("ip addr del %s dev lo: %v: %s", cidr, err, out))
		}
	}
	errs = append(errs, h.removeCgroups())
	for _, p := range h.PathsCreated {
		_ = unmountUnder(p)
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// removeNetns removes the network namespaces created since capture (the pods').
func (h *hostState) removeNetns() error {
	var errs []error
	for _, d := range []string{"/run/netns", "/var/run/netns"} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			p := filepath.Join(d, e.Name())
			if h.Netns[p] {
				continue
			}
			_ = syscall.Unmount(p, syscall.MNT_DETACH)
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove network namespace %s: %w", p, err))
			}
		}
	}
	return errors.Join(errs...)
}

// removeCgroups removes the cgroups created since capture, deepest first (a cgroup
// directory is removed with rmdir once it holds no processes and no children).
func (h *hostState) removeCgroups() error {
	var created []string
	for _, cg := range listCgroups() {
		if !h.Cgroups[cg] {
			created = append(created, cg)
		}
	}
	sort.Slice(created, func(i, j int) bool { return strings.Count(created[i], "/") > strings.Count(created[j], "/") })
	var errs []error
	for attempt := 0; attempt < 20; attempt++ {
		errs = errs[:0]
		for _, cg := range created {
			if err := syscall.Rmdir(cg); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("rmdir cgroup %s: %w", cg, err))
			}
		}
		if len(errs) == 0 {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return errors.Join(errs...)
}

// unmountUnder unmounts every mount point at or below dir, deepest first.
func unmountUnder(dir string) error {
	var errs []error
	for attempt := 0; attempt < 3; attempt++ {
		mounts := mountsUnder(dir)
		if len(mounts) == 0 {
			return nil
		}
		errs = errs[:0]
		for _, m := range mounts {
			if err := syscall.Unmount(m, 0); err != nil {
				if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
					errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
				}
			}
		}
	}
	if len(mountsUnder(dir)) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		// Octal escapes (\040 for a space) do not occur in the paths the cluster uses.
		mp := fields[4]
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// withEmptyTables adds the standard tables to an iptables-save dump that lacked them, so a
// restore also empties tables the cluster created (kube-proxy uses nat, filter and mangle).
func withEmptyTables(saved []byte) []byte {
	builtin := map[string][]string{
		"filter": {"INPUT", "FORWARD", "OUTPUT"},
		"nat":    {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"},
		"mangle": {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"},
	}
	out := append([]byte{}, saved...)
	for _, table := range []string{"filter", "nat", "mangle"} {
		if bytes.Contains(saved, []byte("\n*"+table+"\n")) || bytes.HasPrefix(saved, []byte("*"+table+"\n")) {
			continue
		}
		out = append(out, "*"+table+"\n"...)
		for _, chain := range builtin[table] {
			out = append(out, ":"+chain+" ACCEPT [0:0]\n"...)
		}
		out = append(out, "COMMIT\n"...)
	}
	return out
}

// verify checks what restore promised: sysctls back, no address left on lo, no bridge,
// no mount under the cluster directory, no cgroup the cluster made.
func (h *hostState) verify(dir string) error {
	var errs []error
	for name, want := range h.Sysctls {
		data, err := os.ReadFile(sysctlPath(name))
		if err != nil {
			continue
		}
		if got := strings.TrimSpace(string(data)); got != want {
			errs = append(errs, fmt.Errorf("sysctl %s is %s, was %s", name, got, want))
		}
	}
	out, _ := exec.Command("ip", "-o", "addr", "show", "dev", "lo").Output()
	for _, addr := range []string{NodeIP + "/32", APIServiceIP + "/32"} {
		if bytes.Contains(out, []byte(" "+addr+" ")) {
			errs = append(errs, fmt.Errorf("%s is still on lo", addr))
		}
	}
	if exec.Command("ip", "link", "show", bridgeName).Run() == nil {
		errs = append(errs, fmt.Errorf("bridge %s is still there", bridgeName))
	}
	if m := mountsUnder(dir); len(m) > 0 {
		errs = append(errs, fmt.Errorf("still mounted: %v", m))
	}
	for _, d := range []string{"/run/netns", "/var/run/netns"} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if p := filepath.Join(d, e.Name()); !h.Netns[p] {
				errs = append(errs, fmt.Errorf("network namespace %s is still there", p))
			}
		}
	}
	for _, p := range h.PathsCreated {
		if _, err := os.Lstat(p); err == nil {
			errs = append(errs, fmt.Errorf("%s is still there", p))
		}
	}
	for _, p := range shimSockets() {
		if !h.ShimSockets[p] {
			errs = append(errs, fmt.Errorf("containerd shim socket %s is still there", p))
		}
	}
	for _, cg := range listCgroups() {
		if !h.Cgroups[cg] {
			errs = append(errs, fmt.Errorf("cgroup %s is still there", cg))
			break
		}
	}
	return errors.Join(errs...)
}
