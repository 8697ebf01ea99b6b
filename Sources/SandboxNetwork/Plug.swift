import Foundation
import Logging
import NetlinkSocket
import QemuWiring
import Rtnetlink
import SandnetCore

#if canImport(Glibc)
    import Glibc
#endif

/// What `sandnet plug` asks of the host side.
public struct PlugSettings: Sendable {
    public var sandbox: String
    /// The endpoint to wire; nil: the one endpoint of the namespace without a NIC.
    public var endpoint: String?
    public var model: NetworkModel
    /// Queue pairs; nil: as many as the attach gave its NICs.
    public var queues: Int?

    public init(sandbox: String, endpoint: String? = nil, model: NetworkModel = .tcfilter, queues: Int? = nil) {
        self.sandbox = sandbox
        self.endpoint = endpoint
        self.model = model
        self.queues = queues
    }
}

/// The host side of hotplug: one endpoint wired into an attached sandbox with the same
/// model code and journal as attach, on a free root port; and one plugged endpoint undone.
public enum SandboxPlug {
    /// Wires one endpoint. Everything that can be refused (no free port, no such endpoint,
    /// another owner, a model that does not fit) is refused before the journal or the
    /// kernel is touched; a failure later undoes this endpoint's steps and its record.
    public static func wire(
        _ s: PlugSettings, store: JournalStore = JournalStore(), logger: Logger = SandboxLogging.silent,
        afterKernelChange: KernelChangeHook? = nil
    ) throws -> PlugResult {
        try JournalStore.validate(sandbox: s.sandbox)
        try Privilege.requireNetAdmin(for: "sandnet plug")
        guard s.model != .none else {
            throw SandboxError.invalidArgument("--model none makes no NIC, so there is nothing to plug; use tcfilter or macvtap")
        }
        return try store.withLock("sandbox-\(s.sandbox)") {
            guard var journal = try store.read(sandbox: s.sandbox) else { throw SandboxError.notAttached(s.sandbox) }
            guard journal.state == .attached else { throw HotplugError.notAttached(sandbox: s.sandbox, state: journal.state.rawValue) }
            guard let (portIndex, port) = journal.freeRootPort else {
                throw HotplugError.noFreeRootPort(sandbox: s.sandbox, ports: journal.rootPorts?.count ?? 0)
            }
            let queues = s.queues ?? journal.summary?.endpoints.first(where: { $0.queues > 0 })?.queues ?? 1
            guard queues >= 1, queues <= 256 else {
                throw SandboxError.invalidArgument("--queues must be between 1 and 256, not \(queues)")
            }
            let log = SandboxLogging.forSandbox(logger, sandbox: s.sandbox, namespace: journal.namespacePath, phase: "plug")
            let rt = try openNamespace(journal, log, doing: "plugged")
            defer { rt.close() }
            let identity = NamespaceIdentity(device: journal.namespaceDevice, inode: journal.namespaceInode)
            return try store.withLock("netns-\(identity.device)-\(identity.inode)") {
                let scan = try Discovery.scan(rt, description: journal.namespacePath)
                let e = try PlugChoice.endpoint(s.endpoint, scan: scan, journal: journal)
                try PlugChoice.checkModel(s.model, for: e)
                try EndpointOwnership.check([e], sandbox: s.sandbox, identity: identity, store: store)
                let ingress = try ModelContext.linksWithIngress(rt: rt, needed: s.model == .tcfilter)
                if s.model == .tcfilter, ingress.contains(e.index) {
                    throw SandboxError.modelNotApplicable(
                        model: "tcfilter", endpoint: e.name, reason: "it already has an ingress/clsact qdisc (another tool's filters)")
                }
                // The record, the claim and the port are journaled before the first change.
                let record = PluggedEndpoint(
                    endpoint: e.name, ifindex: e.index, model: s.model, rootPort: port.id, nicID: "snp\(portIndex)", queues: queues)
                journal.format = SandboxJournal.formatVersion
                journal.plugged = (journal.plugged ?? []) + [record]
                journal.endpoints = (journal.endpoints ?? []) + [EndpointClaim(name: e.name, ifindex: e.index)]
                journal.rootPorts![portIndex].endpoint = e.name
                try store.write(journal)
                log.info("plug started", metadata: ["endpoint": "\(e.name)", "rootPort": "\(port.id)", "model": "\(s.model)"])
                let index = journal.plugged!.count - 1
                let tx = Transaction(journal: journal, store: store, logger: log, afterKernelChange: afterKernelChange, pluggedIndex: index)
                let settings = AttachSettings(sandbox: s.sandbox, namespace: journal.namespacePath, model: s.model, vcpus: queues)
                let ctx = ModelContext(
                    rt: rt, namespace: .path(journal.namespacePath), tx: tx, settings: settings, group: journal.linkGroup,
                    linksWithIngress: ingress)
                var outputs: [ModelOutput] = []
                do {
                    // Device names from the port number: unique among the NICs the sandbox has now.
                    let number = 100 + portIndex
                    if s.model == .macvtap {
                        outputs.append(try MacvtapModel.attach(e, number: number, ctx))
                    } else {
                        try TcFilterModel.check(e, ctx)
                        var taps = try TcFilterModel.createTaps([(e, number: number)], ctx)
                        outputs.append(try TcFilterModel.attach(e, taps: &taps, ctx))
                    }
                    let before = Set(tx.journal.queueDevices ?? [])
                    try MacvtapModel.openQueues(&outputs, ctx)
                    let out = outputs[0]
                    try tx.update { j in
                        // openQueues recorded this macvtap's device alone: keep the sandbox's others too.
                        let mine = Set(j.queueDevices ?? []).subtracting(before).first
                        let all = before.union(j.queueDevices ?? [])
                        if !all.isEmpty { j.queueDevices = all.sorted { ($0.major, $0.minor) < ($1.major, $1.minor) } }
                        j.plugged![index].queueDevice = mine
                        j.plugged![index].device = out.device
                        j.plugged![index].guestMAC = out.guestMAC
                        j.plugged![index].queues = out.queueFDs.count
                        j.plugged![index].vhost = !out.vhostFDs.isEmpty
                        j.plugged![index].state = .wired
                    }
                    log.info(
                        "plug wired", metadata: ["endpoint": "\(e.name)", "device": "\(out.device ?? "")", "kernelChanges": "\(tx.changes)"]
                    )
                    let guest = PlugChoice.guestInterface(e, mac: out.guestMAC, port: port, model: s.model)
                    return PlugResult(
                        plugged: tx.journal.plugged![index], rootPort: tx.journal.rootPorts![portIndex], guestInterface: guest,
                        queueFDs: out.queueFDs, vhostFDs: out.vhostFDs)
                } catch {
                    for o in outputs { for fd in o.queueFDs + o.vhostFDs { close(fd) } }
                    log.notice("plug failed; rolling back", metadata: ["endpoint": "\(e.name)", "error": "\(error)"])
                    var undone: [String] = []
                    let failures = SandboxDetach.undoSteps(
                        tx.journal.plugged![index].steps, group: journal.linkGroup, rt: rt, logger: log, rollback: true,
                        wholeGroup: false, undone: &undone)
                    if failures.isEmpty {
                        var j = tx.journal
                        j.forget(pluggedAt: index)
                        try? store.write(j)
                    } else {
                        try? tx.flush()
                    }
                    throw PlugRolledBack(endpoint: e.name, cause: "\(error)", rollbackFailures: failures)
                }
            }
        }
    }

    /// The journal's namespace, opened; a namespace that is gone or replaced refuses the plug.
    static func openNamespace(_ journal: SandboxJournal, _ log: Logger, doing: String) throws -> Rtnetlink {
        switch try NamespaceCheck.open(journal, warnings: SandboxLogging.kernelWarnings(log)) {
        case .same(let rt): return rt
        case .gone(let why), .replaced(let why): throw SandboxError.invalidArgument("\(why); nothing was \(doing)")
        }
    }
}

/// A plug that failed after its first change, undone (or not: `rollbackFailures`).
public struct PlugRolledBack: Error, CustomStringConvertible, Sendable {
    public var endpoint: String
    public var cause: String
    public var rollbackFailures: [String]
    public var description: String {
        rollbackFailures.isEmpty
            ? "plugging \(endpoint) failed: \(cause); its host side was undone"
            : "plugging \(endpoint) failed: \(cause); undoing its host side also failed: \(rollbackFailures.joined(separator: "; ")). "
                + "The journal keeps it: sandnet detach undoes it"
    }
}
