// kubelab-netd joins the pods of every node of kubelab's offline kind cluster into one
// network, as kind's kindnetd does on kind's own node images (whose module is not
// published on the Go module proxy, so it cannot be built here):
//
//   - its own node: the CNI config (Debian's bridge + host-local + portmap plugins, in the
//     node image) with the node's own pod range (spec.podCIDR), written once the
//     controller manager has given the node one;
//   - every other node: a route to that node's pod range through the node's address;
//   - traffic from a pod to anything outside the pod network leaves with the node's
//     address (masquerade); pod to pod keeps the pod's address, which NetworkPolicy
//     (kube-network-policies, its own DaemonSet) needs.
//
// It runs as a DaemonSet on the host network and reads the nodes with its
// ServiceAccount, again every -interval. Standard library only; `ip` and `iptables`
// come from its image (Debian's iproute2 and iptables).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Version is set at build time (-ldflags -X main.Version=...).
var Version = "dev"

const serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount"

type node struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		PodCIDR string `json:"podCIDR"`
	} `json:"spec"`
	Status struct {
		Addresses []struct {
			Type    string `json:"type"`
			Address string `json:"address"`
		} `json:"addresses"`
	} `json:"status"`
}

func (n node) internalIP() string {
	for _, a := range n.Status.Addresses {
		if a.Type == "InternalIP" && net.ParseIP(a.Address).To4() != nil {
			return a.Address
		}
	}
	return ""
}

type agent struct {
	nodeIPs     string // the nodes' addresses the masquerade chain skips, as last written
	self        string
	clusterCIDR string
	cniConf     string
	client      *http.Client
	server      string
	token       string
}

func main() {
	var a agent
	interval := flag.Duration("interval", 5*time.Second, "how often the nodes are read again")
	flag.StringVar(&a.self, "node", os.Getenv("NODE_NAME"), "this node's name (default $NODE_NAME)")
	flag.StringVar(&a.clusterCIDR, "cluster-cidr", "10.244.0.0/16", "the whole pod network")
	flag.StringVar(&a.cniConf, "cni-conf", "/etc/cni/net.d/10-kubelab.conflist", "where the CNI config is written")
	version := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *version {
		fmt.Println("kubelab-netd", Version)
		return
	}
	if a.self == "" {
		log.Fatal("no node name: set NODE_NAME or -node")
	}
	if _, _, err := net.ParseCIDR(a.clusterCIDR); err != nil {
		log.Fatalf("-cluster-cidr: %v", err)
	}
	if err := a.connect(); err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log.Printf("kubelab-netd %s on node %s, pod network %s", Version, a.self, a.clusterCIDR)
	for {
		if err := a.sync(ctx); err != nil {
			log.Printf("sync: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(*interval):
		}
	}
}

// connect reads the in-cluster credentials (the API server's Service, the token, its CA).
func (a *agent) connect() error {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return errors.New("not in a pod: KUBERNETES_SERVICE_HOST/PORT unset")
	}
	token, err := os.ReadFile(filepath.Join(serviceAccount, "token"))
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(filepath.Join(serviceAccount, "ca.crt"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return errors.New("no certificate in the ServiceAccount's ca.crt")
	}
	a.server = "https://" + net.JoinHostPort(host, port)
	a.token = strings.TrimSpace(string(token))
	a.client = &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	return nil
}

func (a *agent) nodes(ctx context.Context) ([]node, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.server+"/api/v1/nodes", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/nodes: %s", resp.Status)
	}
	var list struct {
		Items []node `json:"items"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 32<<20)).Decode(&list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

func (a *agent) sync(ctx context.Context) error {
	nodes, err := a.nodes(ctx)
	if err != nil {
		return err
	}
	var problems []error
	if err := a.masquerade(ctx, nodes); err != nil {
		problems = append(problems, err)
	}
	for _, n := range nodes {
		if n.Spec.PodCIDR == "" {
			continue // the controller manager has not given it a range yet
		}
		if _, _, err := net.ParseCIDR(n.Spec.PodCIDR); err != nil {
			problems = append(problems, fmt.Errorf("node %s: podCIDR %q: %w", n.Metadata.Name, n.Spec.PodCIDR, err))
			continue
		}
		if n.Metadata.Name == a.self {
			if err := a.writeConf(n.Spec.PodCIDR); err != nil {
				problems = append(problems, err)
			}
			continue
		}
		ip := n.internalIP()
		if ip == "" {
			continue
		}
		if err := run(ctx, "ip", "route", "replace", n.Spec.PodCIDR, "via", ip); err != nil {
			problems = append(problems, fmt.Errorf("route to node %s: %w", n.Metadata.Name, err))
		}
	}
	return errors.Join(problems...)
}

// writeConf writes the node's CNI config when it differs, atomically (the kubelet reads
// the folder at any time).
func (a *agent) writeConf(podCIDR string) error {
	conf := map[string]any{
		"cniVersion": "0.4.0",
		"name":       "kubelab",
		"plugins": []any{
			map[string]any{
				"type": "bridge", "bridge": "kubelab0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
				"ipam": map[string]any{
					"type":   "host-local",
					"ranges": [][]map[string]string{{{"subnet": podCIDR}}},
					"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
				},
			},
			map[string]any{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if old, err := os.ReadFile(a.cniConf); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp := filepath.Join(filepath.Dir(a.cniConf), ".kubelab-netd.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, a.cniConf); err != nil {
		return err
	}
	log.Printf("wrote %s (pods of this node: %s)", a.cniConf, podCIDR)
	return nil
}

// masquerade: a pod's traffic to anywhere outside the pod network and the nodes leaves
// with the node's address; to a pod or a node (on any node) it keeps the pod's own. The
// chain is written again only when the nodes' addresses change.
func (a *agent) masquerade(ctx context.Context, nodes []node) error {
	var ips []string
	for _, n := range nodes {
		if ip := n.internalIP(); ip != "" {
			ips = append(ips, ip)
		}
	}
	key := strings.Join(ips, ",")
	if key == a.nodeIPs && key != "" {
		return nil
	}
	chain := "KUBELAB-NETD-MASQ"
	ipt := func(args ...string) error {
		return run(ctx, append([]string{"iptables", "-w", "5", "-t", "nat"}, args...)...)
	}
	if err := ipt("-N", chain); err != nil && !strings.Contains(err.Error(), "exists") {
		return err
	}
	rules := [][]string{{"-F", chain}, {"-A", chain, "-d", a.clusterCIDR, "-j", "RETURN"}}
	for _, ip := range ips {
		rules = append(rules, []string{"-A", chain, "-d", ip + "/32", "-j", "RETURN"})
	}
	rules = append(rules,
		[]string{"-A", chain, "-m", "addrtype", "--dst-type", "LOCAL", "-j", "RETURN"},
		[]string{"-A", chain, "-j", "MASQUERADE"})
	for _, rule := range rules {
		if err := ipt(rule...); err != nil {
			return err
		}
	}
	jump := []string{"POSTROUTING", "-s", a.clusterCIDR, "-j", chain}
	if ipt(append([]string{"-C"}, jump...)...) != nil {
		if err := ipt(append([]string{"-A"}, jump...)...); err != nil {
			return err
		}
	}
	a.nodeIPs = key
	return nil
}

func run(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
