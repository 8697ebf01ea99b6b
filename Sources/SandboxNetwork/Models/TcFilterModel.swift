import NetlinkCodec
import NetlinkSocket
import QemuWiring
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

    /// What `attach` refuses an endpoint for, checked for every tcfilter endpoint before
    /// the first tap is made.
    static func check(_ e: ScannedLink, _ ctx: ModelContext) throws {
        guard let mac = e.mac, mac.bytes.count == 6 else {
            throw SandboxError.modelNotApplicable(model: "tcfilter", endpoint: e.name, reason: "it has no Ethernet MAC")
        }
        // Deleting our ingress qdisc on detach would take someone else's filters with it.
        // (The namespace's qdiscs are dumped once per attach, not once per endpoint.) It is
        // also the evidence recovery goes by: the attach saw no ingress qdisc here.
        if ctx.linksWithIngress.contains(e.index) {
            throw SandboxError.modelNotApplicable(
                model: "tcfilter", endpoint: e.name,
                reason: "it already has an ingress/clsact qdisc (another tool's filters)")
        }
        if ctx.settings.rateLimit(for: e.name).transmit != nil {
            try RateShaping.requireDefaultRoot(e.name, ifindex: e.index, model: "tcfilter", rt: ctx.rt)
        }
    }

    static func tapName(_ e: ScannedLink, number: Int, _ ctx: ModelContext) -> String {
        ctx.settings.deviceNames[e.name] ?? "sn\(ctx.tag)t\(number)"
    }

    /// Checks every tcfilter endpoint, then makes all their taps in one visit to the
    /// namespace thread (TUNSETIFF creates the device in the calling thread's namespace;
    /// one hop per tap cost more than the taps). One journal write first holds every
    /// tap's createLink: until an ifindex is recorded, an undo knows a tap as a tun of that
    /// name in group 0 or sandnet's. The ifindexes are confirmed in memory and written with
    /// the first endpoint's intent, before any other change.
    /// The caller has run `check` on each endpoint.
    static func createTaps(_ endpoints: [(ScannedLink, number: Int)], _ ctx: ModelContext) throws -> TcFilterTaps {
        guard !endpoints.isEmpty else {
            return TcFilterTaps(set: try TunTap.create([], in: ctx.namespace), positions: [:], names: [:], steps: [:])
        }
        var specs: [TapSpec] = []
        for (e, number) in endpoints {
            specs.append(
                TapSpec(
                    name: tapName(e, number: number, ctx), queues: try ctx.queueLayout(for: e).queueDescriptors, vnetHeader: true,
                    persistent: true, owner: ctx.settings.tapOwner, group: ctx.settings.tapGroup))
        }
        let positions = try ctx.tx.intend(specs.map { .createLink(name: $0.name, kind: "tun") })
        let set = try TunTap.create(specs, in: ctx.namespace)
        for (i, tap) in set.taps.enumerated() {
            try ctx.tx.confirm(positions[i], .createLink(name: tap.name, kind: "tun", ifindex: tap.index))
            ctx.tx.changed("create tap", .link(tap.name, ifindex: tap.index), stepAt: positions[i])
        }
        if let failure = set.failure { throw failure.error }
        var byEndpoint: [String: Int] = [:]
        var names: [String: String] = [:]
        var steps: [String: Int] = [:]
        for (i, (e, _)) in endpoints.enumerated() {
            byEndpoint[e.name] = i
            names[e.name] = specs[i].name
            steps[e.name] = positions[i]
        }
        return TcFilterTaps(set: set, positions: byEndpoint, names: names, steps: steps)
    }

    /// The steps of wiring `e` to its tap: txqueuelen (when the kernel will change it), then
    /// ingress qdisc and redirect on the endpoint's side and on the tap's.
    static func wiringSteps(_ e: ScannedLink, tapName: String, tapIndex: Int32) -> [JournalStep] {
        var steps: [JournalStep] = []
        // A qdisc on a link with txqueuelen 0 makes the kernel set it to 1000: given back
        // on detach. The scan read it; the namespace lock keeps it from changing since.
        if e.txQueueLength == 0 {
            steps.append(.setTxQueueLength(link: e.name, ifindex: e.index, original: 0, replacement: Self.kernelTxQueueLength))
        }
        for (from, fromIndex, to, toIndex) in [(e.name, e.index, tapName, tapIndex), (tapName, tapIndex, e.name, e.index)] {
            steps.append(.addIngressQdisc(link: from, ifindex: fromIndex))
            steps.append(
                .addRedirect(from: from, to: to, fromIndex: fromIndex, toIndex: toIndex, priority: RedirectFilter.priority))
        }
        return steps
    }

    /// One journal write holds the wiring intent of every endpoint of `endpoints` whose tap
    /// `createTaps` made (and the taps' ifindexes it confirmed), before the first of their
    /// datagrams: an attach writes 4 times in all, not once more per endpoint. A kill
    /// between the datagrams leaves every endpoint's adds as intents, each undone by the
    /// kernel's evidence as for the endpoint in flight (docs/attach-journal.md).
    static func intendWiring(_ endpoints: [ScannedLink], taps: inout TcFilterTaps, _ ctx: ModelContext) throws {
        var all: [JournalStep] = []
        var ranges: [(String, Range<Int>)] = []
        for e in endpoints {
            guard let slot = taps.positions[e.name], let tapName = taps.names[e.name] else { continue }
            let steps = wiringSteps(e, tapName: tapName, tapIndex: taps.set.taps[slot].index)
            ranges.append((e.name, all.count..<(all.count + steps.count)))
            all += steps
        }
        guard !all.isEmpty else { return }
        let positions = try ctx.tx.intend(all)
        for (name, r) in ranges { taps.intents[name] = Array(positions[r]) }
    }

    /// Wires `e` to its tap (made by `createTaps`): its intent is on disk (`intendWiring`,
    /// else one write for it here), then one datagram carries every request (tap up in
    /// sandnet's group, ingress qdisc and redirect on each side) with the kernel's
    /// acknowledgements collected, and the outcomes are confirmed in memory for the next write.
    static func attach(_ e: ScannedLink, taps: inout TcFilterTaps, _ ctx: ModelContext) throws -> ModelOutput {
        let rt = ctx.rt
        guard let mac = e.mac, let slot = taps.positions[e.name], let tapName = taps.names[e.name] else {
            throw SandboxError.modelNotApplicable(model: "tcfilter", endpoint: e.name, reason: "its tap was not made")
        }
        let tapIndex = taps.set.taps[slot].index
        let layout = try ctx.queueLayout(for: e)
        var fds = taps.set.takeDescriptors(of: slot)
        var vhost: [Int32] = []
        do {
            vhost = try VhostDescriptors.open(layout)
            let prio = RedirectFilter.priority
            let sides = [(e.name, e.index, tapName, tapIndex), (tapName, tapIndex, e.name, e.index)]
            let positions = try taps.intents[e.name] ?? ctx.tx.intend(wiringSteps(e, tapName: tapName, tapIndex: tapIndex))
            let first = e.txQueueLength == 0 ? 1 : 0
            // Safe to send together: the kernel goes on after a refusal, and each request is
            // harmless whatever became of those before it. A redirect whose qdisc add was
            // refused (another tool's qdisc raced in) hangs on that qdisc; its confirmed
            // handle lets the rollback delete exactly it.
            var requests = [try Rtnetlink.linkSetRequest(index: tapIndex, LinkChange(up: true, mtu: e.mtu, group: ctx.group))]
            for (from, fromIndex, to, toIndex) in sides {
                requests.append(
                    NetlinkRequest(
                        Rtnetlink.qdiscAddRequest(QdiscSpec(device: .index(fromIndex), kind: .ingress), index: fromIndex),
                        operation: "add qdisc", object: "ingress dev \(from)"))
                var filter = Rtnetlink.filterAddRequest(
                    FilterSpec(
                        device: .index(fromIndex), parent: .ingressQdisc, priority: prio,
                        kind: .u32(.matchAll, actions: [.mirred(MirredAction(.redirect, .egress, to: toIndex))])),
                    index: fromIndex)
                // The kernel echoes the filter it made: u32 picks the handle, and the echo
                // says it without a dump.
                filter.header.flags.formUnion(.echo)
                requests.append(NetlinkRequest(filter, operation: "add filter", object: "u32 dev \(from) parent ffff: redirect to \(to)"))
            }
            let outcomes = try rt.executeBatch(requests)
            var failure: Error?
            if case .failure(let f) = outcomes[0] {
                failure = failure ?? f
            } else {
                ctx.tx.changed(
                    "set link up, mtu \(e.mtu), group \(ctx.group)", .link(tapName, ifindex: tapIndex),
                    stepAt: taps.steps[e.name] ?? positions[0])
            }
            for (k, (from, fromIndex, to, toIndex)) in sides.enumerated() {
                let qdiscAt = positions[first + 2 * k]
                let filterAt = positions[first + 2 * k + 1]
                var qdiscOutcome = outcomes[1 + 2 * k]
                var filterOutcome = outcomes[2 + 2 * k]
                if case .failure(let f) = qdiscOutcome, f.errno == EBUSY {
                    // The link is being reconfigured: this side again, one request at a time,
                    // with the waits `qdiscAdd` makes.
                    qdiscOutcome = Result { try rt.qdiscAdd(QdiscSpec(device: .index(fromIndex), kind: .ingress)) }
                        .map { [] }.mapError { $0 as? NetlinkError ?? f }
                    if case .success = qdiscOutcome {
                        filterOutcome = Result {
                            try rt.filterAdd(
                                FilterSpec(
                                    device: .index(fromIndex), parent: .ingressQdisc, priority: prio,
                                    kind: .u32(.matchAll, actions: [.mirred(MirredAction(.redirect, .egress, to: toIndex))])))
                        }.map { [] }.mapError { $0 as? NetlinkError ?? f }
                    }
                }
                switch qdiscOutcome {
                case .success:
                    try ctx.tx.confirm(qdiscAt, .addIngressQdisc(link: from, ifindex: fromIndex, added: true))
                    ctx.tx.changed("add qdisc", .qdisc("ingress", on: from, ifindex: fromIndex), stepAt: qdiscAt)
                case .failure(let f): failure = failure ?? f
                }
                switch filterOutcome {
                case .success(let replies):
                    let echoed = replies.lazy.filter { $0.header.type == RTM.NEWTFILTER }.compactMap { try? Filter.decode($0) }
                        .first { RedirectFilter.redirects($0, to: toIndex) }?.handle
                    let handle = try echoed ?? RedirectFilter.handle(on: fromIndex, to: toIndex, rt: rt)
                    try ctx.tx.confirm(
                        filterAt,
                        .addRedirect(from: from, to: to, fromIndex: fromIndex, toIndex: toIndex, priority: prio, handle: handle))
                    ctx.tx.changed(
                        "add filter", .filter("u32 pref 1 ingress redirect to \(to)", on: from, ifindex: fromIndex), stepAt: filterAt)
                case .failure(let f): failure = failure ?? f
                }
            }
            if let failure { throw failure }
            // The guest receives what the tap transmits, and transmits what the endpoint then sends.
            let limit = ctx.settings.rateLimit(for: e.name)
            if let rx = limit.receive { try RateShaping.shapeEgress(tapName, ifindex: tapIndex, rate: rx, ctx) }
            if let tx = limit.transmit { try RateShaping.shapeEgress(e.name, ifindex: e.index, rate: tx, ctx) }
        } catch {
            for fd in fds + vhost { close(fd) }
            fds = []
            throw error
        }
        return ModelOutput(device: tapName, guestMAC: mac, queueFDs: fds, vhostFDs: vhost)
    }
}

extension TcFilterModel {
    /// An ingress qdisc on `from` and a u32 match-all filter redirecting all it receives to
    /// `to`'s egress, each journaled first, one at a time (rate shaping's ifb redirects).
    static func redirect(from: String, fromIndex: Int32, to: String, toIndex: Int32, _ ctx: ModelContext) throws {
        let rt = ctx.rt
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
}

/// The taps `TcFilterModel.createTaps` made, owning their queues until each endpoint's
/// attach takes its own.
struct TcFilterTaps: ~Copyable {
    var set: TapQueueSet
    /// Endpoint name -> its tap in `set`.
    let positions: [String: Int]
    /// Endpoint name -> its tap's name.
    let names: [String: String]
    /// Endpoint name -> its tap's createLink step.
    let steps: [String: Int]
    /// Endpoint name -> the positions of its wiring steps, once `intendWiring` wrote them.
    var intents: [String: [Int]] = [:]
}

/// /dev/vhost-net descriptors, one per queue, when the device exists (it need not: no
/// vhost-net here means QEMU does virtio in userspace, slower but the same to the guest).
enum VhostDescriptors {
    static func open(_ layout: QueueLayout) throws -> [Int32] {
        var fds: [Int32] = []
        for _ in 0..<layout.vhostDescriptors {
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
