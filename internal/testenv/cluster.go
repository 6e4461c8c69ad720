package testenv

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lifeboat-backup/lifeboat/internal/ociimage"
)

// The test cluster's fixed addresses. kubelet refuses a loopback node IP, so the node gets
// an address of its own on lo; host-side servers that pods reach listen there too.
const (
	NodeIP      = "10.200.0.1"
	NodeName    = "lifeboat-node"
	PodCIDR     = "10.244.0.0/24"
	ServiceCIDR = "10.96.0.0/16"
	// APIServiceIP is the ClusterIP of default/kubernetes, which kube-proxy forwards to the
	// API server, so KUBERNETES_SERVICE_HOST works in pods as on any cluster.
	APIServiceIP = "10.96.0.1"
)

// Cluster is a real single-node Kubernetes: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, kubelet and kube-proxy from the one hyperkube binary that
// scripts/install-servers.sh builds, and Debian's containerd and runc running the pods.
// Images are imported, never pulled. Its ports, /var/log/containers and the kubelet's
// host changes are machine-wide, so one go test process holds at most one cluster:
// SharedCluster starts it for the first test that asks, StopSharedCluster (from TestMain)
// tears it down and puts the host back as it was.
type Cluster struct {
	Kube          // admin access to the API server (URL, CA, token)
	Kubeconfig    string
	ContainerdSoc string

	*clusterState
}

// clusterState is shared by every test's view of the cluster (SharedCluster hands each
// test a copy of Cluster bound to its testing.TB).
type clusterState struct {
	dir        string
	hyperkube  string
	host       *hostState
	procs      map[string]*Process
	procArgs   map[string][]string
	stopLoops  context.CancelFunc
	loopsDone  sync.WaitGroup
	logf       func(format string, args ...any)
	storageDir string
	apiPort    int
}

var (
	sharedMu      sync.Mutex
	sharedCluster *Cluster
	sharedErr     error
)

// SharedCluster returns this process's cluster, starting it on first use. A missing
// prerequisite skips the test, or fails it under CI; a cluster that failed to start fails
// every test that asks for it, with the first error.
func SharedCluster(t testing.TB) *Cluster {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedCluster == nil && sharedErr == nil {
		if missing := clusterPrerequisites(); missing != "" {
			Missing(t, "%s", missing)
		}
		sharedCluster, sharedErr = StartCluster(context.Background())
	}
	if sharedErr != nil {
		t.Fatalf("start the test cluster: %v", sharedErr)
	}
	c := *sharedCluster
	c.Kube.t = t
	return &c
}

// StopSharedCluster tears down the cluster SharedCluster started, if any, and checks the
// host is as it was. TestMain calls it after m.Run so the host is restored however the
// tests ended, and fails the package when it is not.
func StopSharedCluster() error {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if sharedCluster == nil {
		return nil
	}
	err := sharedCluster.Stop()
	sharedCluster = nil
	return err
}

func clusterPrerequisites() string {
	if os.Geteuid() != 0 {
		return "the test cluster needs root (kubelet, containerd, network setup)"
	}
	if _, err := os.Stat(filepath.Join(ToolsBin(), "hyperkube")); err != nil {
		return "hyperkube is not installed: run scripts/install-servers.sh hyperkube"
	}
	for _, bin := range []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "iptables-save", "iptables-restore", "ip"} {
		if _, err := exec.LookPath(bin); err != nil {
			return bin + " is not installed: run scripts/install-servers.sh kube-node"
		}
	}
	for _, plugin := range []string{"bridge", "host-local", "loopback"} {
		if _, err := os.Stat(filepath.Join(cniBinDir, plugin)); err != nil {
			return "the CNI " + plugin + " plugin is not in " + cniBinDir + ": run scripts/install-servers.sh kube-node"
		}
	}
	return ""
}

const cniBinDir = "/usr/lib/cni"

// StartCluster brings up the whole cluster and waits until the node is Ready and the
// default ServiceAccount exists. On error everything started so far is torn down.
func StartCluster(ctx context.Context) (c *Cluster, err error) {
	// A short absolute path: unix socket paths are limited to 108 bytes, and kubelet wants
	// absolute paths for its root dir.
	dir, err := os.MkdirTemp("/tmp", "lbk-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	c = &Cluster{clusterState: &clusterState{
		dir:       dir,
		hyperkube: filepath.Join(ToolsBin(), "hyperkube"),
		procs:     map[string]*Process{},
		procArgs:  map[string][]string{},
		logf:      log.Printf,
	}}
	c.Kube = Kube{Dir: dir, Token: "lifeboat-test-admin-token"}
	defer func() {
		if err != nil {
			if stopErr := c.Stop(); stopErr != nil {
				err = fmt.Errorf("%w (teardown: %v)", err, stopErr)
			}
		}
	}()
	if err = recoverAbandoned(c.logf); err != nil {
		return c, err
	}
	if c.host, err = captureHost(dir); err != nil {
		return c, err
	}
	if err = c.host.addLoopbackAddrs(NodeIP + "/32"); err != nil {
		return c, err
	}
	if err = c.writeFiles(); err != nil {
		return c, err
	}
	steps := []func(context.Context) error{c.startEtcd, c.startAPIServer, c.startControlPlane, c.startContainerd, c.importPause, c.startKubelet, c.waitNodeReady, c.waitDefaultServiceAccount}
	for _, step := range steps {
		if err = step(ctx); err != nil {
			return c, err
		}
	}
	loops, cancel := context.WithCancel(context.Background())
	c.stopLoops = cancel
	c.loopsDone.Add(1)
	go func() { defer c.loopsDone.Done(); c.provisionHostPaths(loops) }()
	if err = c.installStorageClass(ctx); err != nil {
		return c, err
	}
	return c, nil
}

func (c *Cluster) path(parts ...string) string {
	return filepath.Join(append([]string{c.dir}, parts...)...)
}

// Dir is the cluster's working directory (logs, data, PKI).
func (c *Cluster) Dir() string { return c.dir }

// start runs a hyperkube component (or another binary when argv[0] is absolute) with its
// log in the cluster directory, remembering the argv so Restart can run it again.
func (c *Cluster) start(name string, argv ...string) *Process {
	if !filepath.IsAbs(argv[0]) {
		argv = append([]string{c.hyperkube}, argv...)
	}
	c.procArgs[name] = argv
	p, err := startDetached(name, c.path("logs"), argv...)
	if err != nil {
		c.logf("start %s: %v", name, err)
		return nil
	}
	c.procs[name] = p
	return p
}

func (c *Cluster) waitFor(ctx context.Context, p *Process, timeout time.Duration, what string, check func(context.Context) error) error {
	if p == nil {
		return fmt.Errorf("%s: process did not start", what)
	}
	if err := poll(ctx, p, timeout, what, check); err != nil {
		return fmt.Errorf("%w; log %s:\n%s", err, p.LogPath, tail(p.LogPath, 3000))
	}
	return nil
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

func (c *Cluster) startEtcd(ctx context.Context) error {
	client, peer := freePortOn("127.0.0.1"), freePortOn("127.0.0.1")
	url := fmt.Sprintf("http://127.0.0.1:%d", client)
	c.procArgs["etcd-url"] = []string{url}
	p := c.start("etcd", "etcd",
		"--data-dir", c.path("etcd"),
		"--listen-client-urls", url, "--advertise-client-urls", url,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", peer),
		"--unsafe-no-fsync", "--log-level", "warn")
	return c.waitFor(ctx, p, time.Minute, "etcd to be healthy", HTTPStatusOK(http.DefaultClient, url+"/health"))
}

func (c *Cluster) startAPIServer(ctx context.Context) error {
	port := c.apiPort
	p := c.start("kube-apiserver", "kube-apiserver",
		"--etcd-servers", c.procArgs["etcd-url"][0],
		"--bind-address", NodeIP, "--advertise-address", NodeIP,
		"--secure-port", fmt.Sprint(port),
		"--tls-cert-file", c.path("serving.pem"),
		"--tls-private-key-file", c.path("serving-key.pem"),
		"--client-ca-file", c.CAFile,
		"--service-account-key-file", c.path("sa.pub"),
		"--service-account-signing-key-file", c.path("sa.key"),
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--api-audiences", "https://kubernetes.default.svc.cluster.local",
		"--token-auth-file", c.path("tokens.csv"),
		"--authorization-mode", "Node,RBAC",
		"--service-cluster-ip-range", ServiceCIDR,
		"--allow-privileged=true",
		// No cluster DNS: reach the kubelet (logs, exec) by the node address.
		"--kubelet-preferred-address-types", "InternalIP",
		"--kubelet-client-certificate", c.path("kubelet-client.pem"),
		"--kubelet-client-key", c.path("kubelet-client-key.pem"),
		"--cert-dir", c.path("certs"),
		"--enable-priority-and-fairness=false",
		"--v", "1")
	if err := c.waitFor(ctx, p, 2*time.Minute, "kube-apiserver to be ready", func(ctx context.Context) error {
		_, err := c.Do(ctx, http.MethodGet, "/readyz", nil, nil)
		return err
	}); err != nil {
		return err
	}
	return c.waitFor(ctx, p, time.Minute, "the default namespace", func(ctx context.Context) error {
		_, err := c.Do(ctx, http.MethodGet, "/api/v1/namespaces/default", nil, nil)
		return err
	})
}

func (c *Cluster) startControlPlane(ctx context.Context) error {
	cm := c.start("kube-controller-manager", "kube-controller-manager",
		"--kubeconfig", c.Kubeconfig,
		"--authentication-kubeconfig", c.Kubeconfig, "--authorization-kubeconfig", c.Kubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", fmt.Sprint(freePortOn("127.0.0.1")),
		"--leader-elect=false",
		"--service-account-private-key-file", c.path("sa.key"),
		"--root-ca-file", c.CAFile,
		"--use-service-account-credentials=false",
		"--cluster-cidr", PodCIDR, "--service-cluster-ip-range", ServiceCIDR,
		"--v", "1")
	sched := c.start("kube-scheduler", "kube-scheduler",
		"--kubeconfig", c.Kubeconfig,
		"--authentication-kubeconfig", c.Kubeconfig, "--authorization-kubeconfig", c.Kubeconfig,
		"--bind-address", "127.0.0.1", "--secure-port", fmt.Sprint(freePortOn("127.0.0.1")),
		"--leader-elect=false", "--v", "1")
	proxy := c.start("kube-proxy", "kube-proxy", "--config", c.path("kube-proxy.yaml"), "--v", "1")
	for _, p := range []*Process{cm, sched, proxy} {
		if p == nil {
			return errors.New("a control-plane component did not start; see " + c.path("logs"))
		}
	}
	return nil
}

func (c *Cluster) startContainerd(ctx context.Context) error {
	p := c.start("containerd", mustLookPath("containerd"), "--config", c.path("containerd.toml"))
	return c.waitFor(ctx, p, time.Minute, "containerd to answer", func(ctx context.Context) error {
		return c.ctr(ctx, "version")
	})
}

func (c *Cluster) startKubelet(ctx context.Context) error {
	p := c.start("kubelet", "kubelet",
		"--config", c.path("kubelet.yaml"),
		"--kubeconfig", c.Kubeconfig,
		"--hostname-override", NodeName,
		"--node-ip", NodeIP,
		"--root-dir", c.path("kubelet"),
		"--v", "1")
	if p == nil {
		return errors.New("kubelet did not start")
	}
	return nil
}

func (c *Cluster) waitNodeReady(ctx context.Context) error {
	return c.waitFor(ctx, c.procs["kubelet"], 2*time.Minute, "node "+NodeName+" to be Ready", func(ctx context.Context) error {
		var node struct {
			Status struct {
				Conditions []struct{ Type, Status, Message string }
			}
		}
		if _, err := c.Do(ctx, http.MethodGet, "/api/v1/nodes/"+NodeName, nil, &node); err != nil {
			return err
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == "Ready" {
				if cond.Status == "True" {
					return nil
				}
				return fmt.Errorf("condition Ready=%s: %s", cond.Status, cond.Message)
			}
		}
		return errors.New("no Ready condition yet")
	})
}

func (c *Cluster) waitDefaultServiceAccount(ctx context.Context) error {
	return c.waitFor(ctx, c.procs["kube-controller-manager"], time.Minute, "the default ServiceAccount", func(ctx context.Context) error {
		_, err := c.Do(ctx, http.MethodGet, "/api/v1/namespaces/default/serviceaccounts/default", nil, nil)
		return err
	})
}

// ctr runs containerd's client against this cluster's containerd, in the CRI namespace.
func (c *Cluster) ctr(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"--address", c.ContainerdSoc, "--namespace", "k8s.io"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ImportImage makes an OCI image archive visible to the kubelet, as a registry pull would.
// Pods must use imagePullPolicy IfNotPresent or Never for it.
func (c *Cluster) ImportImage(ctx context.Context, archive string) error {
	if err := c.ctr(ctx, "images", "import", "--all-platforms", archive); err != nil {
		return fmt.Errorf("import %s into the test cluster's containerd: %w", archive, err)
	}
	return nil
}

// HostIP is the address pods reach the host on (and host-side test servers listen on).
func (c *Cluster) HostIP() string { return NodeIP }

// Stop tears the cluster down and restores the host: pods and their sandboxes first (so
// CNI releases their network), then the node and control plane, then whatever is left
// (mounts, network namespaces, cgroups, the bridge, iptables, sysctls, lo addresses).
func (c *Cluster) Stop() error {
	if c.stopLoops != nil {
		c.stopLoops()
		c.loopsDone.Wait()
	}
	var errs []error
	if p := c.procs["kubelet"]; p != nil && c.URL != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		if err := c.deleteAllPods(ctx); err != nil {
			c.logf("test cluster teardown: pods did not all stop (%v); killing them", err)
		}
		cancel()
	}
	for _, name := range []string{"kubelet", "kube-proxy", "kube-scheduler", "kube-controller-manager"} {
		if p := c.procs[name]; p != nil {
			p.Stop()
		}
	}
	if p := c.procs["containerd"]; p != nil {
		errs = append(errs, c.host.killPods(c.ContainerdSoc))
		p.Stop()
	}
	if c.hyperkube != "" && c.procs["kube-proxy"] != nil {
		// Removes the KUBE-* chains; iptables is restored from the saved rules below anyway.
		_ = exec.Command(c.hyperkube, "kube-proxy", "--cleanup").Run()
	}
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if p := c.procs[name]; p != nil {
			p.Stop()
		}
	}
	if c.host != nil {
		errs = append(errs, c.host.restore(c.dir), c.host.verify(c.dir))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	_ = os.Remove(hostStateFile)
	return os.RemoveAll(c.dir)
}

func mustLookPath(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return name
	}
	return p
}

// freePortOn returns a TCP port on host that was free a moment ago.
func freePortOn(host string) int {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// importPause builds the sandbox image from internal/testenv/pause and imports it as
// PauseImage, so containerd never tries to pull one.
func (c *Cluster) importPause(ctx context.Context) error {
	bin := c.path("pause")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./internal/testenv/pause")
	build.Dir = RepoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the pause binary: %v: %s", err, out)
	}
	archive := c.path("pause.tar")
	f, err := os.Create(archive)
	if err != nil {
		return err
	}
	err = ociimage.Write(f, PauseImage,
		ociimage.Config{Entrypoint: []string{"/pause"}, User: "65535:65535"},
		ociimage.Layer{Files: []ociimage.File{{Name: "pause", Mode: 0o755, Source: bin}}})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the pause image: %w", err)
	}
	return c.ImportImage(ctx, archive)
}

// RestartNode is a node reboot as far as the pods can tell: kubelet and containerd stop,
// every container dies, the pods' mounts and network namespaces are gone; then containerd
// and kubelet start again and the kubelet brings the pods back on their volumes. The
// control plane keeps running, as on a cluster whose worker rebooted.
func (c *Cluster) RestartNode(ctx context.Context) error {
	c.procs["kubelet"].Stop()
	_ = c.host.killPods(c.ContainerdSoc)
	c.procs["containerd"].Stop()
	_ = c.host.killPods(c.ContainerdSoc)
	for _, dir := range []string{c.path("kubelet", "pods"), c.path("containerd", "state")} {
		if err := unmountUnder(dir); err != nil {
			return fmt.Errorf("node restart: %w", err)
		}
	}
	if err := c.host.removeNetns(); err != nil {
		return fmt.Errorf("node restart: %w", err)
	}
	for _, name := range []string{"containerd", "kubelet"} {
		p, err := startDetached(name, c.path("logs"), c.procArgs[name]...)
		if err != nil {
			return err
		}
		c.procs[name] = p
		if name == "containerd" {
			if err := c.waitFor(ctx, p, time.Minute, "containerd to answer", func(ctx context.Context) error { return c.ctr(ctx, "version") }); err != nil {
				return err
			}
		}
	}
	return c.waitNodeReady(ctx)
}
