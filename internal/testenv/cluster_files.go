package testenv

import (
	"fmt"
	"net"
	"os"
)

// writeFiles writes the PKI, credentials and the components' configuration. The settings
// that are not defaults are the ones this machine kind needs (see the comments), the rest
// keep the cluster's footprint on the host inside c.dir.
func (c *Cluster) writeFiles() error {
	for _, sub := range []string{"logs", "kubelet", "containerd/root", "containerd/state", "cni/net.d", "cni/ipam", "pod-logs", "volume-plugins", "storage"} {
		if err := os.MkdirAll(c.path(sub), 0o755); err != nil {
			return err
		}
	}
	c.storageDir = c.path("storage")
	c.apiPort = freePortOn(NodeIP)
	if c.apiPort == 0 {
		return fmt.Errorf("no free port on %s: is the address on lo?", NodeIP)
	}
	c.URL = fmt.Sprintf("https://%s:%d", NodeIP, c.apiPort)
	caPEM, err := writeKubePKI(c.dir, net.ParseIP(NodeIP), net.ParseIP("127.0.0.1"))
	if err != nil {
		return fmt.Errorf("write cluster PKI: %w", err)
	}
	c.CAPEM, c.CAFile = caPEM, c.path("ca.pem")
	c.Kubeconfig = c.path("admin.kubeconfig")
	c.ContainerdSoc = c.path("containerd.sock")
	files := map[string]string{
		"tokens.csv":       c.Token + ",lifeboat-admin,lifeboat-admin,system:masters\n",
		"admin.kubeconfig": c.KubeconfigYAML(""),
		"kube-proxy.yaml": `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ` + c.Kubeconfig + `}
hostnameOverride: ` + NodeName + `
mode: iptables
clusterCIDR: ` + PodCIDR + `
bindAddress: ` + NodeIP + `
healthzBindAddress: 127.0.0.1:` + fmt.Sprint(freePortOn("127.0.0.1")) + `
metricsBindAddress: 127.0.0.1:` + fmt.Sprint(freePortOn("127.0.0.1")) + `
# Zero leaves the host's conntrack settings alone (kube-proxy would raise them).
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
# Pods reach Services of pods on the same bridge; masquerading keeps the replies on the
# host's conntrack path whatever br_netfilter does.
iptables: {masqueradeAll: true, localhostNodePorts: false}
`,
		"kubelet.yaml": `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ` + NodeIP + `
port: ` + fmt.Sprint(10250) + `
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
# As on a real node: the API server (logs) authenticates with its client certificate,
# anything else with a token the API server reviews; pods cannot use the kubelet API.
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ` + c.CAFile + `}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://` + c.ContainerdSoc + `
# cgroup v1 with cgroupfs on this machine kind; no swap accounting.
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
# Root lacks CAP_SYS_RESOURCE here: kubelet must not lower its own oom_score_adj.
oomScoreAdj: 0
clusterDomain: cluster.local
podLogsDir: ` + c.path("pod-logs") + `
volumePluginDir: ` + c.path("volume-plugins") + `
resolvConf: /etc/resolv.conf
serializeImagePulls: false
# The machine's disk may be fuller than kubelet's defaults allow; never evict test pods.
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
protectKernelDefaults: false
`,
		"containerd.toml": `version = 2
root = "` + c.path("containerd/root") + `"
state = "` + c.path("containerd/state") + `"
[grpc]
  address = "` + c.ContainerdSoc + `"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "` + PauseImage + `"
  # Root lacks CAP_SYS_RESOURCE on this machine kind: without this every sandbox fails with
  # "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  tolerate_missing_hugetlb_controller = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        # runc's state in the cluster directory, not the machine's /run/containerd/runc.
        Root = "` + c.path("runc") + `"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "` + cniBinDir + `"
    conf_dir = "` + c.path("cni/net.d") + `"
`,
		"cni/net.d/10-lifeboat.conflist": `{
  "cniVersion": "0.4.0",
  "name": "lifeboat",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "` + bridgeName + `",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "` + PodCIDR + `"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "` + c.path("cni/ipam") + `"
      }
    }
  ]
}
`,
	}
	for name, data := range files {
		if err := os.WriteFile(c.path(name), []byte(data), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return nil
}

// bridgeName is the CNI bridge; teardown deletes it.
const bridgeName = "lbk0"

// PauseImage is the sandbox image containerd runs in every pod; the harness imports its
// own (a binary that sleeps until signalled) under this name so nothing is pulled.
const PauseImage = "registry.k8s.io/pause:3.10"
