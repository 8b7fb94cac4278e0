// The NetworkPolicy firewall of kubelab's offline node image: kube-router's network policy
// controller (github.com/cloudnativelabs/kube-router/v2, pinned in go.mod) alone, as k3s
// embeds it, with one change: its full syncs are bounded in frequency.
//
// Upstream (v2.1.0) requests a full sync of every pod's firewall chains on each pod,
// namespace or policy event that matters to the firewall, and runs them back to back while
// events come. A grading run of many answers on a 2-core machine makes pods all the time:
// every node then synced about twice a second, and kube-router was a quarter of the
// machine's CPU. Here an event asks for a sync at once when the last was asked at least
// -netpol-min-sync-period ago, else once that period is over (the events in between share
// that one sync): the same bound as kube-proxy's --iptables-min-sync-period. A new pod's
// rules may so come up to that period later than upstream's; the periodic full sync
// (--iptables-sync-period) is upstream's.
//
// Which events matter is upstream's rule (pkg/controllers/netpol: pod.go, namespace.go,
// policy.go): a pod with an address that has not finished and is not on the host network
// is added; a pod's phase, addresses or labels change; a pod is deleted; a labelled
// namespace comes or goes, or its labels change; any policy event.
//
// Only the firewall runs: --run-router and --run-service-proxy must be false. No metrics
// server (kubelab reads none). Built by ci/build-k8s.sh; flags are kube-router's.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"sync"
	"syscall"
	"time"

	"github.com/cloudnativelabs/kube-router/v2/pkg/cmd"
	"github.com/cloudnativelabs/kube-router/v2/pkg/controllers/netpol"
	"github.com/cloudnativelabs/kube-router/v2/pkg/healthcheck"
	"github.com/cloudnativelabs/kube-router/v2/pkg/options"
	"github.com/cloudnativelabs/kube-router/v2/pkg/version"
	"github.com/spf13/pflag"
	api "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s\n", err)
		os.Exit(1)
	}
}

func run() error {
	klog.InitFlags(nil)
	config := options.NewKubeRouterConfig()
	config.AddFlags(pflag.CommandLine)
	minSync := pflag.Duration("netpol-min-sync-period", time.Second,
		"kubelab: the least time between two full syncs that events ask for")
	pflag.Parse()
	if err := flag.CommandLine.Parse([]string{}); err != nil { // as upstream's main
		return fmt.Errorf("failed to parse flags: %w", err)
	}
	if err := flag.Set("logtostderr", "true"); err != nil {
		return err
	}
	if err := flag.Set("v", config.VLevel); err != nil {
		return err
	}
	switch {
	case config.HelpRequested:
		pflag.Usage()
		return nil
	case config.Version:
		version.PrintVersion(false)
		return nil
	case !config.RunFirewall || config.RunRouter || config.RunServiceProxy:
		return fmt.Errorf("this build runs the firewall only: --run-firewall=true --run-router=false --run-service-proxy=false")
	case os.Geteuid() != 0:
		return fmt.Errorf("kube-router needs to be run with privileges to execute iptables and ipset")
	}
	kr, err := cmd.NewKubeRouterDefault(config)
	if err != nil {
		return fmt.Errorf("failed to parse kube-router config: %w", err)
	}

	var wg sync.WaitGroup
	var ipsetMutex sync.Mutex
	healthChan := make(chan *healthcheck.ControllerHeartbeat, 10)
	defer close(healthChan)
	stopCh := make(chan struct{})
	hc, err := healthcheck.NewHealthController(config)
	if err != nil {
		return fmt.Errorf("failed to create health controller: %w", err)
	}
	wg.Add(1)
	go hc.RunServer(stopCh, &wg)

	factory := informers.NewSharedInformerFactory(kr.Client, 0)
	pods := factory.Core().V1().Pods().Informer()
	namespaces := factory.Core().V1().Namespaces().Informer()
	policies := factory.Networking().V1().NetworkPolicies().Informer()
	factory.Start(stopCh)
	if err := kr.CacheSyncOrTimeout(factory, stopCh); err != nil {
		return fmt.Errorf("failed to synchronize cache: %w", err)
	}
	hc.SetAlive()
	wg.Add(1)
	go hc.RunCheck(healthChan, stopCh, &wg)

	iptables, ipsets, err := netpol.NewIPTablesHandlers(config)
	if err != nil {
		return fmt.Errorf("failed to create iptables handlers: %w", err)
	}
	npc, err := netpol.NewNetworkPolicyController(kr.Client, config, pods, policies, namespaces,
		&ipsetMutex, iptables, ipsets)
	if err != nil {
		return fmt.Errorf("failed to create network policy controller: %w", err)
	}
	syncs := &bounded{call: npc.RequestFullSync, every: *minSync}
	for _, h := range []struct {
		informer cache.SharedIndexInformer
		handler  cache.ResourceEventHandler
	}{
		{pods, podEvents(syncs.request)},
		{namespaces, namespaceEvents(syncs.request)},
		{policies, cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { syncs.request() },
			UpdateFunc: func(any, any) { syncs.request() },
			DeleteFunc: func(any) { syncs.request() },
		}},
	} {
		if _, err := h.informer.AddEventHandler(h.handler); err != nil {
			return fmt.Errorf("failed to add an event handler: %w", err)
		}
	}
	wg.Add(1)
	go npc.Run(healthChan, stopCh, &wg)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
	klog.Info("Shutting down the controllers")
	close(stopCh)
	wg.Wait()
	return nil
}

// bounded calls `call` at most once per `every`: at once when the last call is that long
// ago, else once it is (one call for every request in between).
type bounded struct {
	call  func()
	every time.Duration

	mu    sync.Mutex
	last  time.Time
	timer *time.Timer
}

func (b *bounded) request() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		return // a call is due already
	}
	if wait := time.Until(b.last.Add(b.every)); wait > 0 {
		b.timer = time.AfterFunc(wait, func() {
			b.mu.Lock()
			b.timer, b.last = nil, time.Now()
			b.mu.Unlock()
			b.call()
		})
		return
	}
	b.last = time.Now()
	b.call() // npc.RequestFullSync does not block
}

func actionable(pod *api.Pod) bool {
	finished := pod.Status.Phase == api.PodFailed || pod.Status.Phase == api.PodSucceeded ||
		pod.Status.Phase == netpol.PodCompleted
	return !finished && pod.Status.PodIP != "" && !pod.Spec.HostNetwork
}

func podEvents(request func()) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if pod, ok := obj.(*api.Pod); ok && actionable(pod) {
				request()
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, ok1 := oldObj.(*api.Pod)
			pod, ok2 := newObj.(*api.Pod)
			if ok1 && ok2 && (pod.Status.Phase != old.Status.Phase ||
				pod.Status.PodIP != old.Status.PodIP ||
				!reflect.DeepEqual(pod.Status.PodIPs, old.Status.PodIPs) ||
				pod.Status.HostIP != old.Status.HostIP ||
				!reflect.DeepEqual(pod.Labels, old.Labels)) {
				request()
			}
		},
		DeleteFunc: func(any) { request() },
	}
}

func namespaceEvents(request func()) cache.ResourceEventHandler {
	labelled := func(obj any) bool {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		ns, ok := obj.(*api.Namespace)
		return ok && ns.Labels != nil
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if labelled(obj) {
				request()
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, ok1 := oldObj.(*api.Namespace)
			ns, ok2 := newObj.(*api.Namespace)
			if ok1 && ok2 && !reflect.DeepEqual(old.Labels, ns.Labels) {
				request()
			}
		},
		DeleteFunc: func(obj any) {
			if labelled(obj) {
				request()
			}
		},
	}
}
