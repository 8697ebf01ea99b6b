import Foundation
import NetlinkCodec
import NetlinkSocket
import QemuWiring
import Rtnetlink
import SandnetCore
import TrafficControl
#if canImport(Glibc)
import Glibc
#endif

/// What attach hands back: where each endpoint went, QEMU's arguments and descriptors,
/// and the guest description. The descriptors are open (CLOEXEC) in this process: exec
/// QEMU with `QemuExec` or close them with `closeDescriptors()`.
public struct AttachResult: Sendable {
    public var summary: AttachSummary
    public var plan: QemuNetworkPlan?
    public var guestDescription: GuestDescription
    private let closer: DescriptorCloser

    init(summary: AttachSummary, plan: QemuNetworkPlan?, guestDescription: GuestDescription) {
        self.summary = summary; self.plan = plan; self.guestDescription = guestDescription
        closer = DescriptorCloser(plan?.inheritedFDs ?? [])
    }

    public var descriptors: [Int32] { plan?.inheritedFDs ?? [] }

    /// Closes the queue and vhost descriptors once; later calls do nothing (a second close
    /// could hit a descriptor number reused by someone else).
    public func closeDescriptors() { closer.close() }
}

final class DescriptorCloser: @unchecked Sendable {
    private var fds: [Int32]
    private let lock = NSLock()
    init(_ fds: [Int32]) { self.fds = fds }
    func close() {
        lock.lock(); let mine = fds; fds = []; lock.unlock()
        for fd in mine { _ = Glibc.close(fd) }
    }
}

/// The printable outcome of an attach, also kept in the journal.
public struct AttachSummary: Codable, Equatable, Sendable {
    public struct Endpoint: Codable, Equatable, Sendable {
        public var name: String
        public var linkClass: LinkClass
        public var model: NetworkModel
        /// The tap or macvtap created for it (nil for model none).
        public var device: String?
        public var guestMAC: MACAddress
        public var queues: Int
        public var vhost: Bool
    }
    public var sandbox: String
    public var namespace: String
    public var linkGroup: UInt32
    public var endpoints: [Endpoint]
    /// Links that are not attached, with why.
    public var skipped: [String: String]
    public var qemuArguments: [String]
    public var kernelChanges: Int
}

/// Everything a model needs while it plumbs one endpoint.
struct ModelContext {
    let rt: Rtnetlink
    let namespace: NetworkNamespace
    let tx: Transaction
    let settings: AttachSettings
    let group: UInt32
    /// Short per-namespace number of this sandbox, for device names.
    var tag: UInt32 { group - SandboxLinkGroup.base }
    let ingressCache = IngressCache()

    /// Links that had an ingress or clsact qdisc when the first endpoint asked: one qdisc
    /// dump per attach. Qdiscs this attach adds later are on links it already checked.
    func linksWithIngress() throws -> Set<Int32> {
        if let known = ingressCache.links { return known }
        let found = Set(try rt.qdiscs().filter { $0.kind == "ingress" || $0.kind == "clsact" }.map(\.index))
        ingressCache.links = found
        return found
    }
}

final class IngressCache { var links: Set<Int32>? }

/// What a model produced for one endpoint.
struct ModelOutput {
    var device: String?
    var guestMAC: MACAddress
    var queueFDs: [Int32] = []
    var vhostFDs: [Int32] = []
    /// A macvtap whose queues are still to be opened (see `MacvtapModel.openQueues`).
    var macvtapIndex: Int32? = nil
}

public enum SandboxAttach {
    /// `sandnet attach`: scans the namespace, plumbs every endpoint with its model,
    /// journaling each change first. On failure everything done so far is undone.
    /// `afterKernelChange` is for fault-injection tests only.
    public static func attach(_ settings: AttachSettings, store: JournalStore = JournalStore(),
                              afterKernelChange: KernelChangeHook? = nil) throws -> AttachResult {
        try JournalStore.validate(sandbox: settings.sandbox)
        guard settings.vcpus >= 1, settings.vcpus <= 256 else {
            throw SandboxError.invalidArgument("--vcpus must be between 1 and 256 (one queue per vCPU), not \(settings.vcpus)")
        }
        let ns = NetworkNamespace.parse(settings.namespace)
        let identity = try ns.identity()
        return try store.withLock("sandbox-\(settings.sandbox)") {
            if try store.read(sandbox: settings.sandbox) != nil { throw SandboxError.alreadyAttached(settings.sandbox) }
            // One attach per namespace at a time: link groups and device names are chosen from what is there.
            return try store.withLock("netns-\(identity.device)-\(identity.inode)") {
                let rt = try Rtnetlink(namespace: ns)
                defer { rt.close() }
                let scan = try Discovery.scan(rt, description: ns.path)
                let endpoints = scan.endpoints
                guard !endpoints.isEmpty else { throw SandboxError.noEndpoints(namespace: ns.description) }
                for e in endpoints where settings.model(for: e.name) == .macvtap {
                    if e.linkClass == .ipvlan {
                        throw SandboxError.modelNotApplicable(model: "macvtap", endpoint: e.name,
                            reason: "an ipvlan shares its parent's MAC, so a macvtap on it cannot take over the MAC; use tcfilter")
                    }
                }
                let group = try freeGroup(rt: rt, store: store, identity: identity)
                var journal = SandboxJournal(sandbox: settings.sandbox, namespacePath: ns.path, identity: identity, linkGroup: group)
                journal.ownerPID = getpid()
                journal.ownerStartTime = ProcessIdentity.startTime(of: getpid())
                try store.write(journal)
                let tx = Transaction(journal: journal, store: store, afterKernelChange: afterKernelChange)
                let ctx = ModelContext(rt: rt, namespace: ns, tx: tx, settings: settings, group: group)
                var outputs: [ModelOutput] = []
                var failingStep = "scan"
                do {
                    for (i, e) in endpoints.enumerated() {
                        failingStep = "\(settings.model(for: e.name)) for \(e.name)"
                        switch settings.model(for: e.name) {
                        case .tcfilter: outputs.append(try TcFilterModel.attach(e, number: i, ctx))
                        case .macvtap: outputs.append(try MacvtapModel.attach(e, number: i, ctx))
                        case .none: outputs.append(ModelOutput(device: nil, guestMAC: e.mac ?? MACAddress.randomLocal()))
                        }
                    }
                    failingStep = "open macvtap queues"
                    try MacvtapModel.openQueues(&outputs, ctx)
                    let result = try assemble(settings: settings, scan: scan, endpoints: endpoints, outputs: outputs, group: group,
                                              changes: tx.changes)
                    try tx.update {
                        $0.state = .attached
                        $0.summary = result.summary
                        if !settings.ownedByProcess { $0.ownerPID = nil; $0.ownerStartTime = nil }
                    }
                    return result
                } catch {
                    for o in outputs { for fd in o.queueFDs + o.vhostFDs { close(fd) } }
                    var undone: [String] = []
                    let failures = SandboxDetach.undoSteps(tx.journal.steps, group: group, rt: rt, undone: &undone)
                    if failures.isEmpty { try? store.remove(sandbox: settings.sandbox) }
                    throw SandboxError.rolledBack(step: failingStep, cause: error, rollbackFailures: failures)
                }
            }
        }
    }

    /// The lowest sandnet link group no link in the namespace and no journal for it uses.
    static func freeGroup(rt: Rtnetlink, store: JournalStore, identity: NamespaceIdentity) throws -> UInt32 {
        var used = Set(try rt.links().compactMap(\.group))
        for id in store.sandboxes() {
            if let j = try? store.read(sandbox: id), j.isNamespace(identity) { used.insert(j.linkGroup) }
        }
        guard let g = SandboxLinkGroup.range.first(where: { !used.contains($0) }) else {
            throw SandboxError.invalidArgument("every sandnet link group is in use in this namespace")
        }
        return g
    }

    static func assemble(settings: AttachSettings, scan: NamespaceScan, endpoints: [ScannedLink], outputs: [ModelOutput],
                         group: UInt32, changes: Int) throws -> AttachResult {
        let nics = zip(endpoints, outputs).enumerated().compactMap { i, pair -> QemuNIC? in
            pair.1.queueFDs.isEmpty ? nil : QemuNIC(id: "sn\(i)", mac: pair.1.guestMAC, queueFDs: pair.1.queueFDs, vhostFDs: pair.1.vhostFDs)
        }
        let plan = nics.isEmpty ? nil : try QemuNetworkPlan(architecture: settings.architecture, nics: nics, sparePorts: settings.sparePorts)
        // NIC k (and root port k) belongs to the k-th endpoint that has queues.
        var placements = (plan?.placements ?? [])[...]
        let interfaces = zip(endpoints, outputs).map { e, o -> GuestInterface in
            let p = o.queueFDs.isEmpty ? nil : placements.popFirst()
            return GuestInterface(
                name: e.name, mac: o.guestMAC, mtu: Int(e.mtu),
                addresses: e.addresses.filter { !$0.isLinkLocal }.map(\.prefix),
                routes: guestRoutes(e.routes),
                neighbours: e.neighbours.map { GuestNeighbour(address: $0.address, mac: $0.mac) },
                pciRootPort: p?.rootPort.id, pciRootPortAddress: p?.rootPort.guestAddress,
                pciSlot: p.map { "0\($0.slot).0" }, model: settings.model(for: e.name).rawValue)
        }
        let dns = settings.resolvConf.map(GuestDescription.dnsLines(fromResolvConf:))
        let guest = GuestDescription(sandbox: settings.sandbox, interfaces: interfaces, dns: dns)
        let summary = AttachSummary(
            sandbox: settings.sandbox, namespace: scan.namespace, linkGroup: group,
            endpoints: zip(endpoints, outputs).map { e, o in
                AttachSummary.Endpoint(name: e.name, linkClass: e.linkClass, model: settings.model(for: e.name), device: o.device,
                                       guestMAC: o.guestMAC, queues: o.queueFDs.count, vhost: !o.vhostFDs.isEmpty)
            },
            skipped: Dictionary(scan.links.filter { !$0.isEndpoint }.map { ($0.name, $0.reason ?? "") }, uniquingKeysWith: { a, _ in a }),
            qemuArguments: plan?.arguments ?? [], kernelChanges: changes)
        return AttachResult(summary: summary, plan: plan, guestDescription: guest)
    }

    /// Routes the guest must add: not the kernel's own, on-link ones first.
    static func guestRoutes(_ routes: [SavedRoute]) -> [GuestRoute] {
        let wanted = routes.filter { !$0.isKernelMade && $0.type == .unicast && $0.table == .main }
        let ordered = wanted.filter { $0.gateway == nil } + wanted.filter { $0.gateway != nil }
        return ordered.map { r in
            GuestRoute(destination: r.destination.map { $0.length == 0 ? "default" : $0.description } ?? "default",
                       family: r.family.description, gateway: r.gateway, source: r.preferredSource,
                       scope: r.scope == .universe ? "universe" : r.scope == .link ? "link" : r.scope == .host ? "host" : "\(r.scope.rawValue)",
                       mtu: r.mtu.map(Int.init))
        }
    }
}
