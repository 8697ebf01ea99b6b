import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import TapDevices
import TrafficControl

#if canImport(Glibc)
    import Glibc
#endif

/// tcfilter: a multiqueue tap per endpoint, joined to it by ingress u32 match-all
/// filters with mirred redirects both ways. The endpoint keeps its MAC and addresses;
/// the guest NIC uses the endpoint's MAC so the peers' neighbour entries stay right.
enum TcFilterModel {
    /// DEFAULT_TX_QUEUE_LEN: what qdisc_create gives a link whose txqueuelen is 0.
    static let kernelTxQueueLength: UInt32 = 1000

    static func attach(_ e: ScannedLink, number: Int, _ ctx: ModelContext) throws -> ModelOutput {
        let rt = ctx.rt
        guard let mac = e.mac, mac.bytes.count == 6 else {
            throw SandboxError.modelNotApplicable(model: "tcfilter", endpoint: e.name, reason: "it has no Ethernet MAC")
        }
        // Deleting our ingress qdisc on detach would take someone else's filters with it.
        // (The namespace's qdiscs are dumped once per attach, not once per endpoint.)
        if ctx.linksWithIngress.contains(e.index) {
            throw SandboxError.modelNotApplicable(
                model: "tcfilter", endpoint: e.name,
                reason: "it already has an ingress/clsact qdisc (another tool's filters)")
        }
        let tapName = ctx.settings.deviceNames[e.name] ?? "sn\(ctx.tag)t\(number)"
        // TapQueues is non-copyable, so the step hands back the tap's index and its queues
        // taken out of it; on a throw inside, `q` closes its queues as it goes.
        let (tapIndex, taken) = try ctx.tx.step(.createLink(name: tapName, kind: "tun")) { tx -> (Int32, [Int32]) in
            let q = try TunTap.create(
                TapSpec(
                    name: tapName, queues: ctx.settings.vcpus, vnetHeader: true, persistent: true,
                    owner: ctx.settings.tapOwner, group: ctx.settings.tapGroup),
                in: ctx.namespace)
            try tx.amendLast(.createLink(name: tapName, kind: "tun", ifindex: q.index))
            tx.changed("create tap", .link(tapName, ifindex: q.index))
            // Group first: from here one group delete removes it.
            try rt.linkSet(.index(q.index), LinkChange(up: true, mtu: e.mtu, group: ctx.group))
            tx.changed("set link up, mtu \(e.mtu), group \(ctx.group)", .link(tapName, ifindex: q.index))
            return (q.index, q.takeDescriptors())
        }
        var fds = taken
        var vhost: [Int32] = []
        do {
            vhost = try VhostDescriptors.open(count: fds.count)
            // By index (both known here): a lookup by name would cost a RTM_GETLINK per request.
            // A qdisc on a link with txqueuelen 0 makes the kernel set it to 1000: given back on detach.
            if try rt.link(.index(e.index)).txQueueLength == 0 {
                let step = JournalStep.setTxQueueLength(link: e.name, ifindex: e.index, original: 0, replacement: Self.kernelTxQueueLength)
                try ctx.tx.step(step) { _ in }
            }
            for (from, fromIndex, to, toIndex) in [(e.name, e.index, tapName, tapIndex), (tapName, tapIndex, e.name, e.index)] {
                try ctx.tx.step(.addIngressQdisc(link: from, ifindex: fromIndex)) { tx in
                    try rt.qdiscAdd(QdiscSpec(device: .index(fromIndex), kind: .ingress))
                    try tx.amendLast(.addIngressQdisc(link: from, ifindex: fromIndex, added: true))
                    tx.changed("add qdisc", .qdisc("ingress", on: from, ifindex: fromIndex))
                }
                let prio = RedirectFilter.priority
                try ctx.tx.step(.addRedirect(from: from, to: to, fromIndex: fromIndex, toIndex: toIndex, priority: prio)) { tx in
                    try rt.filterAdd(
                        FilterSpec(
                            device: .index(fromIndex), parent: .ingressQdisc, priority: prio,
                            kind: .u32(.matchAll, actions: [.mirred(MirredAction(.redirect, .egress, to: toIndex))])))
                    // u32 picks the handle: learnt so the undo deletes exactly this filter.
                    let handle = try RedirectFilter.handle(on: fromIndex, to: toIndex, rt: rt)
                    try tx.amendLast(
                        .addRedirect(from: from, to: to, fromIndex: fromIndex, toIndex: toIndex, priority: prio, handle: handle))
                    tx.changed("add filter", .filter("u32 pref 1 ingress redirect to \(to)", on: from, ifindex: fromIndex))
                }
            }
        } catch {
            for fd in fds + vhost { close(fd) }
            fds = []
            throw error
        }
        return ModelOutput(device: tapName, guestMAC: mac, queueFDs: fds, vhostFDs: vhost)
    }
}

/// /dev/vhost-net descriptors, one per queue, when the device exists (it need not: no
/// vhost-net here means QEMU does virtio in userspace, slower but the same to the guest).
enum VhostDescriptors {
    static func open(count: Int) throws -> [Int32] {
        guard VhostNet.isAvailable else { return [] }
        var fds: [Int32] = []
        for _ in 0..<count {
            let fd = Glibc.open(VhostNet.path, O_RDWR | O_CLOEXEC)
            if fd < 0 {
                let e = errno
                for f in fds { close(f) }
                throw NetlinkError.system(operation: "open", object: VhostNet.path, errno: e)
            }
            fds.append(fd)
        }
        return fds
    }
}
