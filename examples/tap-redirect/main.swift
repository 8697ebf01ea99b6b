// tap-redirect NETNS LINK: creates a tap next to LINK and joins the two with tc, the way
// sandnet's `tcfilter` model plugs a VM into a pod: an ingress qdisc on each, and a u32
// filter that matches everything with a mirred action redirecting it to the other one.
//
//     swift run tap-redirect mypod eth0   # then: tc -n mypod filter show dev eth0 ingress
//
// Needs root (CAP_NET_ADMIN). Undo with `ip -n NETNS link del sn-tap0` (its qdisc goes with it)
// and `tc -n NETNS qdisc del dev LINK ingress`.

import Foundation // exit() and standard error only
import Sandnet

func fail(_ message: String, status: Int32 = 1) -> Never {
    FileHandle.standardError.write(Data("tap-redirect: \(message)\n".utf8))
    exit(status)
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else { fail("usage: tap-redirect NETNS LINK", status: 2) }
let namespace = NetworkNamespace.parse(arguments[1])
let tapName = "sn-tap0"

do {
    let rt = try Rtnetlink(namespace: namespace)
    defer { rt.close() }
    let link = try rt.link(named: arguments[2])

    // A persistent tap outlives its queue descriptors. `TapQueues` is non-copyable: it owns
    // the fds, and `close()` consumes it, so they cannot be used or closed twice.
    let queues = try TunTap.create(TapSpec(name: tapName, persistent: true), in: namespace)
    let tapIndex = queues.index
    queues.close() // a VM would take these fds (`takeDescriptors()`) instead
    try rt.linkSet(.index(tapIndex), LinkChange(up: true))

    // Both directions: whatever arrives on one device leaves through the other.
    for (from, to, toName) in [(link.index, tapIndex, tapName), (tapIndex, link.index, link.name)] {
        // `tc qdisc add dev FROM ingress`
        try rt.qdiscAdd(QdiscSpec(device: .index(from), kind: .ingress))
        // `tc filter add dev FROM parent ffff: pref 1 u32 match u32 0 0 action mirred egress redirect dev TO`
        let redirect = MirredAction(.redirect, .egress, to: to)
        try rt.filterAdd(
            FilterSpec(
                device: .index(from), parent: .ingressQdisc, priority: 1,
                kind: .u32(.matchAll, actions: [.mirred(redirect)])))
        print("ingress of ifindex \(from) redirects to \(toName)")
    }
    print("\(link.name) <-> \(tapName)")
} catch {
    fail("\(error)")
}
