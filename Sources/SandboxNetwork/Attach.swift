import Foundation
import Logging
import NetlinkCodec
import NetlinkSocket
import QemuWiring
import Rtnetlink
import SandnetCore
import TapDevices
import TrafficControl

#if canImport(Glibc)
    import Glibc
#endif

/// Everything a model needs while it plumbs one endpoint.
struct ModelContext {
    let rt: Rtnetlink
    let namespace: NetworkNamespace
    let tx: Transaction
    let settings: AttachSettings
    let group: UInt32
    /// Short per-namespace number of this sandbox, for device names.
    var tag: UInt32 { group - SandboxLinkGroup.base }
    /// Links that had an ingress or clsact qdisc before the attach (tcfilter refuses them).
    let linksWithIngress: Set<Int32>
    /// Whether vhost-net is usable here, probed once per attach: the probe opens the device
    /// and claims it (VHOST_SET_OWNER starts a kernel worker), and each endpoint asked twice.
    let vhostAvailable = VhostNet.isAvailable

    /// One qdisc dump per attach, and none when no endpoint uses tcfilter. Qdiscs this
    /// attach adds later are on links it has already checked.
    static func linksWithIngress(rt: Rtnetlink, needed: Bool) throws -> Set<Int32> {
        guard needed else { return [] }
        return Set(try rt.qdiscs().filter { $0.kind == "ingress" || $0.kind == "clsact" }.map(\.index))
    }
}

/// What a model produced for one endpoint.
struct ModelOutput {
    var device: String?
    var guestMAC: MACAddress
    var queueFDs: [Int32] = []
    var vhostFDs: [Int32] = []
    /// A macvtap whose queues are still to be opened (see `MacvtapModel.openQueues`).
    var macvtapIndex: Int32? = nil
    /// Queue pairs to open there.
    var queues: Int = 0
    /// The macvtap's character device, once its queues are open.
    var queueDevice: DeviceNumber? = nil
}

public enum SandboxAttach {
    /// `sandnet attach`: scans the namespace, plumbs every endpoint with its model,
    /// journaling each change first (tcfilter: one intent for all taps, then one for every
    /// endpoint's wiring; see TcFilterModel and docs/attach-journal.md). On failure everything done so far is undone.
    /// Each kernel change is logged at `.debug`, a rollback and every link left out at
    /// `.notice`. `afterKernelChange` is for fault-injection tests only.
    public static func attach(
        _ settings: AttachSettings, store: JournalStore = JournalStore(),
        logger: Logger = SandboxLogging.silent,
        afterKernelChange: KernelChangeHook? = nil
    ) throws -> AttachResult {
        try JournalStore.validate(sandbox: settings.sandbox)
        try Privilege.requireNetAdmin(for: "sandnet attach")
        guard settings.vcpus >= 1, settings.vcpus <= 256 else {
            throw SandboxError.invalidArgument("--vcpus must be between 1 and 256, not \(settings.vcpus)")
        }
        // The journal must name the namespace the same way from any directory and process.
        let ns = try NetworkNamespace.parse(settings.namespace).canonical()
        // Refuses a file that is no network namespace before any lock or state file is made.
        close(try ns.open())
        let identity = try ns.identity()
        return try store.withLock("sandbox-\(settings.sandbox)") {
            if try store.read(sandbox: settings.sandbox) != nil { throw SandboxError.alreadyAttached(settings.sandbox) }
            // One attach per namespace at a time: link groups and device names are chosen from what is there.
            return try store.withLock("netns-\(identity.device)-\(identity.inode)") {
                let log = SandboxLogging.forSandbox(logger, sandbox: settings.sandbox, namespace: ns.path, phase: "attach")
                let rt = try Rtnetlink(namespace: ns, warnings: SandboxLogging.kernelWarnings(log))
                defer { rt.close() }
                // The cookie of the namespace the socket really is in; the path must still name
                // the namespace stat'ed above, or the journal would record a mix of two.
                let cookie = try rt.handle.namespaceCookie()
                guard try ns.identity() == identity else {
                    throw SandboxError.invalidArgument(
                        "\(ns.path) was bound to another namespace while the attach opened it; nothing was changed, retry")
                }
                let scan = try Discovery.scan(rt, description: ns.path)
                let endpoints = try settings.selected(scan, namespace: ns.description)
                for l in scan.links where !l.isEndpoint {
                    // lo is never a candidate; saying so on every attach would be noise.
                    let level: Logger.Level = l.linkClass == .loopback ? .debug : .notice
                    log.log(level: level, "link not attached", metadata: ["device": "\(l.name)", "reason": "\(l.reason ?? "")"])
                }
                guard !endpoints.isEmpty else { throw SandboxError.noEndpoints(namespace: ns.description) }
                try AttachPreflight.check(settings, scan: scan, namespace: ns.description)
                for e in endpoints where settings.model(for: e.name) == .macvtap {
                    if e.linkClass == .ipvlan {
                        throw SandboxError.modelNotApplicable(
                            model: "macvtap", endpoint: e.name,
                            reason: "an ipvlan shares its parent's MAC, so a macvtap on it cannot take over the MAC; use tcfilter")
                    }
                }
                // The other journals of this namespace, read once for both checks below.
                let peers = try store.journals(ofNamespace: identity, except: settings.sandbox)
                // One owner per endpoint, decided before the first change (see EndpointOwnership).
                try EndpointOwnership.check(endpoints, identity: identity, journals: peers)
                let group = try freeGroup(links: scan.links, journals: peers, identity: identity, cookie: cookie)
                let ingress = try ModelContext.linksWithIngress(
                    rt: rt, needed: endpoints.contains { settings.model(for: $0.name) == .tcfilter || NoneModel.needsIngress($0, settings) }
                )
                var journal = SandboxJournal(
                    sandbox: settings.sandbox, namespacePath: ns.path, identity: identity, cookie: cookie, linkGroup: group)
                if cookie == nil { journal.namespaceIdentityNote = NamespaceCookie.unavailableNote }
                journal.endpoints = endpoints.map { EndpointClaim(name: $0.name, ifindex: $0.index) }
                journal.ownerPID = getpid()
                journal.ownerStartTime = ProcessIdentity.startTime(of: getpid())
                let tx = Transaction(journal: journal, store: store, logger: log, afterKernelChange: afterKernelChange)
                // The first write, before any change; the writes that follow reuse its encoding.
                try tx.write()
                log.info(
                    "attach started",
                    metadata: [
                        "linkGroup": "\(group)", "endpoints": "\(endpoints.map(\.name).joined(separator: ","))",
                        "vcpus": "\(settings.vcpus)", "queues": "\(settings.queues.map(String.init) ?? "per vCPU")"
                    ])
                let ctx = ModelContext(rt: rt, namespace: ns, tx: tx, settings: settings, group: group, linksWithIngress: ingress)
                var outputs: [ModelOutput] = []
                var failingStep = "scan"
                do {
                    // Every tcfilter endpoint is checked before the first tap is made.
                    for e in endpoints where settings.model(for: e.name) == .tcfilter {
                        failingStep = "tcfilter for \(e.name)"
                        try TcFilterModel.check(e, ctx)
                    }
                    failingStep = "create taps"
                    var taps = try TcFilterModel.createTaps(
                        endpoints.enumerated().filter { settings.model(for: $0.element.name) == .tcfilter }.map {
                            ($0.element, number: $0.offset)
                        },
                        ctx)
                    failingStep = "journal the tcfilter wiring"
                    try TcFilterModel.intendWiring(endpoints.filter { settings.model(for: $0.name) == .tcfilter }, taps: &taps, ctx)
                    for (i, e) in endpoints.enumerated() {
                        failingStep = "\(settings.model(for: e.name)) for \(e.name)"
                        switch settings.model(for: e.name) {
                        case .tcfilter: outputs.append(try TcFilterModel.attach(e, taps: &taps, ctx))
                        case .macvtap: outputs.append(try MacvtapModel.attach(e, number: i, ctx))
                        case .none: outputs.append(try NoneModel.attach(e, number: i, ctx))
                        }
                    }
                    failingStep = "open macvtap queues"
                    try MacvtapModel.openQueues(&outputs, ctx)
                    let result = try assemble(
                        settings: settings, scan: scan, endpoints: endpoints, outputs: outputs, group: group,
                        changes: tx.changes)
                    try tx.update {
                        $0.state = .attached
                        $0.summary = result.summary
                        $0.rootPorts = result.plan.map {
                            SandboxJournal.rootPortRecords($0.topology, nicEndpoints: result.nicEndpoints)
                        }
                        $0.attachedNICs = attachedNICs(endpoints: endpoints, outputs: outputs, plan: result.plan)
                        if !settings.ownedByProcess {
                            $0.ownerPID = nil
                            $0.ownerStartTime = nil
                        }
                    }
                    log.info("attach finished", metadata: ["kernelChanges": "\(tx.changes)", "linkGroup": "\(group)"])
                    return result
                } catch {
                    for o in outputs { for fd in o.queueFDs + o.vhostFDs { close(fd) } }
                    log.notice(
                        "attach failed; rolling back",
                        metadata: [
                            "failedAt": "\(failingStep)", "error": "\(error)", "kernelChanges": "\(tx.changes)",
                            "steps": "\(tx.journal.steps.count)"
                        ])
                    var rollbackLog = log
                    rollbackLog[metadataKey: "phase"] = "rollback"
                    var undone: [String] = []
                    let failures = SandboxDetach.undoSteps(
                        tx.journal.steps, group: group, rt: rt, logger: rollbackLog, rollback: true,
                        undone: &undone)
                    if !failures.isEmpty {
                        // What the kernel confirmed since the last write, for the gc that finishes this.
                        try? tx.flush()
                    }
                    if failures.isEmpty {
                        try? store.removeDeviceNodes(tx.journal.deviceNodes ?? [])
                        try? store.remove(sandbox: settings.sandbox)
                        log.notice("rolled back", metadata: ["stepsUndone": "\(undone.count)"])
                    } else {
                        log.notice(
                            "rollback incomplete; journal kept for gc",
                            metadata: [
                                "stepsUndone": "\(undone.count)", "failures": "\(failures.joined(separator: "; "))"
                            ])
                    }
                    throw SandboxError.rolledBack(step: failingStep, cause: error, rollbackFailures: failures)
                }
            }
        }
    }

    /// The lowest sandnet link group no link of the scan and no journal of the namespace
    /// (`journals`, from `JournalStore.journals(ofNamespace:except:)`) uses. The scan is
    /// recent enough: it was made under the namespace lock this attach still holds.
    static func freeGroup(
        links: [ScannedLink], journals: [(id: String, journal: SandboxJournal)], identity: NamespaceIdentity, cookie: UInt64?
    ) throws -> UInt32 {
        var used = Set(links.map(\.group))
        for (_, j) in journals where j.isNamespace(identity, cookie: cookie) { used.insert(j.linkGroup) }
        guard let g = SandboxLinkGroup.range.first(where: { !used.contains($0) }) else {
            throw SandboxError.invalidArgument("every sandnet link group is in use in this namespace")
        }
        return g
    }

    static func assemble(
        settings: AttachSettings, scan: NamespaceScan, endpoints: [ScannedLink], outputs: [ModelOutput],
        group: UInt32, changes: Int
    ) throws -> AttachResult {
        let nics = zip(endpoints, outputs).enumerated().compactMap { i, pair -> QemuNIC? in
            pair.1.queueFDs.isEmpty
                ? nil : QemuNIC(id: nicID(i), mac: pair.1.guestMAC, queueFDs: pair.1.queueFDs, vhostFDs: pair.1.vhostFDs)
        }
        let plan =
            nics.isEmpty ? nil : try QemuNetworkPlan(architecture: settings.architecture, nics: nics, sparePorts: settings.sparePorts)
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
                AttachSummary.Endpoint(
                    name: e.name, linkClass: e.linkClass, model: settings.model(for: e.name), device: o.device,
                    guestMAC: o.guestMAC, queues: o.queueFDs.count, vhost: !o.vhostFDs.isEmpty,
                    rateLimit: settings.rateLimit(for: e.name).isUnlimited ? nil : settings.rateLimit(for: e.name))
            },
            skipped: Dictionary(scan.links.filter { !$0.isEndpoint }.map { ($0.name, $0.reason ?? "") }, uniquingKeysWith: { a, _ in a }),
            qemuArguments: plan?.arguments ?? [], kernelChanges: changes)
        var result = AttachResult(summary: summary, plan: plan, guestDescription: guest)
        result.nicEndpoints = zip(endpoints, outputs).filter { !$0.1.queueFDs.isEmpty }.map(\.0.name)
        return result
    }

    /// QEMU's netdev id of the NIC of the attach's i-th endpoint (its device is `<id>-nic`).
    static func nicID(_ i: Int) -> String { "sn\(i)" }

    /// The journal's record of each NIC the plan puts on QEMU's command line.
    static func attachedNICs(endpoints: [ScannedLink], outputs: [ModelOutput], plan: QemuNetworkPlan?) -> [AttachedNIC] {
        let ports = Dictionary((plan?.placements ?? []).map { ($0.nic.id, $0.rootPort.id) }, uniquingKeysWith: { a, _ in a })
        return zip(endpoints, outputs).enumerated().compactMap { i, pair in
            let (e, o) = pair
            guard !o.queueFDs.isEmpty else { return nil }
            return AttachedNIC(
                endpoint: e.name, ifindex: e.index, netdev: nicID(i), device: "\(nicID(i))-nic", hostDevice: o.device,
                rootPort: ports[nicID(i)], guestMAC: o.guestMAC, queueDevice: o.queueDevice)
        }
    }

    /// Routes the guest must add: not the kernel's own, on-link ones first.
    static func guestRoutes(_ routes: [SavedRoute]) -> [GuestRoute] {
        let wanted = routes.filter { !$0.isKernelMade && $0.type == .unicast && $0.table == .main }
        let ordered = wanted.filter { $0.gateway == nil } + wanted.filter { $0.gateway != nil }
        return ordered.map { r in
            GuestRoute(
                destination: r.destination.map { $0.length == 0 ? "default" : $0.description } ?? "default",
                family: r.family.description, gateway: r.gateway, source: r.preferredSource,
                scope: r.scope == .universe ? "universe" : r.scope == .link ? "link" : r.scope == .host ? "host" : "\(r.scope.rawValue)",
                mtu: r.mtu.map(Int.init))
        }
    }
}
