// The Go peer: the benchmark workloads done the way Kata's Go runtime does them, on
// vishvananda/netlink (Debian's golang-github-vishvananda-netlink-dev, GOPATH mode, no
// module downloads). Built by scripts/bench.sh; run by sandnet-bench --go PATH.
//
//	peer w1 NETNS RUNS              per run: LinkList, AddrList (both families),
//	                                RouteListFiltered (every table, both families), NeighList
//	peer w3 NETNS CYCLES all|route  CYCLES x (netns.GetFromPath, NewHandleAt, Close both);
//	                                all: NewHandleAt's default families (route, xfrm,
//	                                netfilter); route: NewHandleAt(ns, NETLINK_ROUTE)
//	peer tc-attach NETNS...         per veth endpoint, in the namespace (doNetNS), Kata's
//	                                setupTCFiltering: NewHandle, Tuntap LinkAdd (2 queues),
//	                                LinkByName tap and veth, LinkSetMTU, LinkSetUp, ingress
//	                                qdisc on both, u32/mirred redirect both ways
//	peer tc-detach NETNS...         per endpoint, Kata's removeTCFiltering (see below)
//
// Output as the floor's: "run WALL CPU" / "total WALL CPU" in ns (CPU: this process's
// user+system time, every thread, from getrusage), "counts ...", "maxrss_kb N".
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go peer: "+format+"\n", args...)
	os.Exit(1)
}

func cpuNs() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		fail("getrusage: %v", err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// clock is wall and CPU time at one instant.
type clock struct {
	wall time.Time
	cpu  int64
}

func start() clock { return clock{time.Now(), cpuNs()} }
func (c clock) since() string {
	return fmt.Sprintf("%d %d", time.Since(c.wall).Nanoseconds(), cpuNs()-c.cpu)
}

// VmHWM, as the floor reports it (ru_maxrss would survive exec from a bigger parent).
func peakRSSKilobytes() int {
	data, _ := os.ReadFile("/proc/self/status")
	var kb int
	for _, line := range strings.Split(string(data), "\n") {
		if n, _ := fmt.Sscanf(line, "VmHWM: %d kB", &kb); n == 1 {
			return kb
		}
	}
	return -1
}

func nsPath(name string) string { return "/run/netns/" + name }

// doNetNS is Kata's: lock the goroutine's thread, enter the namespace, run, go back.
func doNetNS(path string, body func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	current, err := netns.Get()
	if err != nil {
		return err
	}
	defer current.Close()
	target, err := netns.GetFromPath(path)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		return err
	}
	defer netns.Set(current)
	return body()
}

func scan(h *netlink.Handle) (links, addrs, routes, neighs int) {
	l, err := h.LinkList()
	if err != nil {
		fail("LinkList: %v", err)
	}
	a, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		fail("AddrList: %v", err)
	}
	r, err := h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		fail("RouteListFiltered: %v", err)
	}
	n, err := h.NeighList(0, netlink.FAMILY_ALL)
	if err != nil {
		fail("NeighList: %v", err)
	}
	return len(l), len(a), len(r), len(n)
}

func w1(ns string, runs int) {
	handle, err := netns.GetFromPath(nsPath(ns))
	if err != nil {
		fail("%s: %v", ns, err)
	}
	h, err := netlink.NewHandleAt(handle, unix.NETLINK_ROUTE)
	if err != nil {
		fail("NewHandleAt: %v", err)
	}
	var l, a, r, n int
	for i := 0; i < runs; i++ {
		c := start()
		l, a, r, n = scan(h)
		fmt.Printf("run %s\n", c.since())
	}
	fmt.Printf("counts links=%d addresses=%d routes=%d neighbours=%d\nmaxrss_kb %d\n", l, a, r, n, peakRSSKilobytes())
	h.Close()
	handle.Close()
}

func w3(ns string, cycles int, families string) {
	var fams []int
	if families == "route" {
		fams = []int{unix.NETLINK_ROUTE}
	}
	c := start()
	for i := 0; i < cycles; i++ {
		handle, err := netns.GetFromPath(nsPath(ns))
		if err != nil {
			fail("%s: %v", ns, err)
		}
		h, err := netlink.NewHandleAt(handle, fams...)
		if err != nil {
			fail("NewHandleAt(%s): %v", families, err)
		}
		h.Close()
		handle.Close()
	}
	fmt.Printf("total %s\n", c.since())
}

// The pod's endpoints: its veth links in index order, as one LinkList shows them (the
// floor's single link dump; Kata's scan adds per-link address, route and neighbour dumps).
func endpoints(ns string) []netlink.Link {
	handle, err := netns.GetFromPath(nsPath(ns))
	if err != nil {
		fail("%s: %v", ns, err)
	}
	defer handle.Close()
	h, err := netlink.NewHandleAt(handle)
	if err != nil {
		fail("NewHandleAt: %v", err)
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		fail("LinkList: %v", err)
	}
	var out []netlink.Link
	for _, l := range links {
		if l.Type() == "veth" {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Attrs().Index < out[j].Attrs().Index })
	return out
}

func tapName(i int) string { return fmt.Sprintf("tap%d_kata", i) }

func addRedirect(from, to int) error {
	return netlink.FilterAdd(&netlink.U32{
		FilterAttrs: netlink.FilterAttrs{LinkIndex: from, Parent: netlink.MakeHandle(0xffff, 0), Protocol: unix.ETH_P_ALL},
		Actions: []netlink.Action{&netlink.MirredAction{
			ActionAttrs: netlink.ActionAttrs{Action: netlink.TC_ACT_STOLEN}, MirredAction: netlink.TCA_EGRESS_REDIR, Ifindex: to,
		}},
	})
}

// setupTCFiltering as Kata's network_linux.go does it (vhost-net off: this host has none).
func setupTCFiltering(veth string, tap string) ([]*os.File, error) {
	h, err := netlink.NewHandle()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	t := &netlink.Tuntap{
		LinkAttrs: netlink.LinkAttrs{Name: tap}, Mode: netlink.TUNTAP_MODE_TAP, Queues: 2,
		Flags: netlink.TUNTAP_VNET_HDR | netlink.TUNTAP_NO_PI | netlink.TUNTAP_MULTI_QUEUE_DEFAULTS,
	}
	if err := h.LinkAdd(t); err != nil {
		return nil, fmt.Errorf("LinkAdd %s: %v", tap, err)
	}
	fds := t.Fds
	tapLink, err := h.LinkByName(tap)
	if err != nil {
		return fds, err
	}
	link, err := h.LinkByName(veth)
	if err != nil {
		return fds, err
	}
	if err := h.LinkSetMTU(tapLink, link.Attrs().MTU); err != nil {
		return fds, err
	}
	if err := h.LinkSetUp(tapLink); err != nil {
		return fds, err
	}
	for _, index := range []int{tapLink.Attrs().Index, link.Attrs().Index} {
		q := &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: index, Parent: netlink.HANDLE_INGRESS}}
		if err := netlink.QdiscAdd(q); err != nil {
			return fds, fmt.Errorf("ingress qdisc on %d: %v", index, err)
		}
	}
	if err := addRedirect(link.Attrs().Index, tapLink.Attrs().Index); err != nil {
		return fds, err
	}
	return fds, addRedirect(tapLink.Attrs().Index, link.Attrs().Index)
}

// removeTCFiltering as Kata's, except the endpoint is left up: setting a veth down flushes
// its IPv6 addresses and routes, and the next side must find the pod as it was.
func removeTCFiltering(veth string, tap string) error {
	h, err := netlink.NewHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	tapLink, err := h.LinkByName(tap)
	if err != nil {
		return err
	}
	if err := h.LinkSetDown(tapLink); err != nil {
		return err
	}
	if err := h.LinkDel(tapLink); err != nil {
		return err
	}
	link, err := h.LinkByName(veth)
	if err != nil {
		return err
	}
	filters, err := netlink.FilterList(link, netlink.MakeHandle(0xffff, 0))
	if err != nil {
		return err
	}
	for _, f := range filters {
		if u, ok := f.(*netlink.U32); ok {
			// The u32 hash-table entries go with the first delete; Kata would stop here
			// and log, the qdisc delete below removes what is left either way.
			_ = netlink.FilterDel(u)
		}
	}
	qdiscs, err := netlink.QdiscList(link)
	if err != nil {
		return err
	}
	for _, q := range qdiscs {
		if ingress, ok := q.(*netlink.Ingress); ok {
			if err := netlink.QdiscDel(ingress); err != nil {
				return err
			}
		}
	}
	return nil
}

// tc wires (or unwires) every pod namespace in turn, in this one process.
func tc(namespaces []string, attach bool) {
	c := start()
	var fds []*os.File
	endpointCount := 0
	for _, ns := range namespaces {
		for i, e := range endpoints(ns) {
			endpointCount++
			err := doNetNS(nsPath(ns), func() error {
				if attach {
					f, err := setupTCFiltering(e.Attrs().Name, tapName(i))
					fds = append(fds, f...)
					return err
				}
				return removeTCFiltering(e.Attrs().Name, tapName(i))
			})
			if err != nil {
				fail("%s %s endpoint %s: %v", map[bool]string{true: "attach", false: "detach"}[attach], ns, e.Attrs().Name, err)
			}
		}
	}
	t := c.since()
	for _, f := range fds {
		f.Close()
	}
	fmt.Printf("total %s\ncounts endpoints=%d queues=%d\nmaxrss_kb %d\n", t, endpointCount, len(fds), peakRSSKilobytes())
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: peer w1 NETNS RUNS | w3 NETNS CYCLES all|route | tc-attach NETNS... | tc-detach NETNS...")
	}
	ns := os.Args[2]
	count := func() int {
		if len(os.Args) < 4 {
			fail("%s needs a count", os.Args[1])
		}
		n, err := strconv.Atoi(os.Args[3])
		if err != nil {
			fail("count %q: %v", os.Args[3], err)
		}
		return n
	}
	switch os.Args[1] {
	case "w1":
		w1(ns, count())
	case "w3":
		families := "all"
		if len(os.Args) > 4 {
			families = os.Args[4]
		}
		w3(ns, count(), families)
	case "tc-attach":
		tc(os.Args[2:], true)
	case "tc-detach":
		tc(os.Args[2:], false)
	default:
		fail("unknown workload %s", os.Args[1])
	}
}
