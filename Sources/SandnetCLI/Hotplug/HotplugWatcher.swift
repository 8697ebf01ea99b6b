import Foundation
import Logging
import NetlinkSocket
import Qmp
import Rtnetlink
import SandboxNetwork
import SandnetCore
import Synchronization

/// `sandnet watch`: keeps the VM's NICs equal to the pod namespace's endpoints. Link and
/// address events only say *that* something changed; each round rescans the namespace
/// (Discovery), reads the journal and asks QEMU which devices it has, and carries out
/// `HotplugReconcile.actions` one at a time. A round starts once the namespace has been
/// quiet for `settle` (CNI makes a link, renames it, addresses it, sets it up: one round
/// for all of it), at once after lost events, and again after `retry` when one failed.
final class HotplugWatcher: Sendable {
    let driver: HotplugDriver
    let namespace: NetworkNamespace
    let model: NetworkModel
    let settle: Duration
    let retry: Duration
    let receiveBufferBytes: Int32?
    let logger: Logger
    /// Set by SIGTERM/SIGINT (or `stop()`): no new action starts; the current one finishes.
    let stopping = Atomic<Bool>(false)
    private let pending = Mutex(Pending())

    private struct Pending {
        var dirty = true
        var lastEvent = ContinuousClock.now
        var lost = false
        var failure: String?
    }

    init(
        driver: HotplugDriver, namespace: NetworkNamespace, model: NetworkModel, settle: Duration, retry: Duration,
        receiveBufferBytes: Int32? = nil, logger: Logger
    ) {
        self.receiveBufferBytes = receiveBufferBytes
        self.driver = driver
        self.namespace = namespace
        self.model = model
        self.settle = settle
        self.retry = retry
        self.logger = logger
    }

    func stop() { stopping.store(true, ordering: .relaxed) }

    /// Runs until `stop()`; throws when the namespace's events end with an error or QEMU's
    /// monitor is gone. The subscription is made before the first round, so nothing after it is missed.
    func run() throws {
        let events = try NetworkEvents(namespace: namespace, groups: [.links, .addresses], receiveBufferBytes: receiveBufferBytes)
        defer { events.close() }
        let reader = Task { [self] in
            do {
                for try await e in events {
                    pending.withLock { p in
                        p.dirty = true
                        p.lastEvent = ContinuousClock.now
                        if e == .resync { p.lost = true }
                    }
                }
            } catch {
                pending.withLock { $0.failure = "\(error)" }
            }
        }
        defer { reader.cancel() }
        logger.info("watching", metadata: ["namespace": "\(namespace.path)", "model": "\(model)"])
        var lastFailedRound: ContinuousClock.Instant?
        while !stopping.load(ordering: .relaxed) {
            let (due, lost, failure) = pending.withLock { p -> (Bool, Bool, String?) in
                let quiet = ContinuousClock.now - p.lastEvent >= settle
                let due = p.dirty && (quiet || p.lost)
                if due {
                    p.dirty = false
                    defer { p.lost = false }
                    return (true, p.lost, p.failure)
                }
                return (false, false, p.failure)
            }
            if let failure { throw SandboxError.invalidArgument("the namespace's events ended: \(failure)") }
            let retryDue = lastFailedRound.map { ContinuousClock.now - $0 >= retry } ?? false
            if due || retryDue {
                if lost { logger.notice("events were lost (ENOBUFS or a slow reader); rescanning the namespace") }
                lastFailedRound = try round() ? nil : ContinuousClock.now
            } else {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        logger.info("stopped", metadata: ["reason": "signal"])
    }

    /// One reconcile: returns false when an action failed (retried after `retry`).
    func round() throws -> Bool {
        let journal = try SandboxPlug.journal(sandbox: driver.sandbox, store: driver.store)
        let scan: NamespaceScan
        do { scan = try Discovery.scan(namespace) } catch NetlinkError.dumpInterrupted(let operation, let attempts) {
            // CNI (or anyone) busy in the namespace: the dump is retried with the round, not fatal.
            logger.notice(
                "rescan interrupted by concurrent changes; retrying later",
                metadata: ["operation": "\(operation)", "attempts": "\(attempts)"])
            return false
        }
        let devices: Set<String>
        do { devices = Set(try driver.qmp.peripheralDeviceIDs().keys) } catch {
            // No monitor, no hotplug: stop rather than guess.
            throw SandboxError.invalidArgument("cannot ask QEMU which devices it has: \(error)")
        }
        let desired = Self.desired(scan, journal: journal)
        let actions = HotplugReconcile.actions(
            desired: desired, attached: journal.attachedEndpoints, plugged: journal.plugged ?? [], qemuDevices: devices,
            attachedNICs: journal.attachedNICs ?? [])
        var ok = true
        for action in actions {
            if stopping.load(ordering: .relaxed) { break }
            do { try perform(action) } catch {
                ok = false
                logger.notice("action failed; retrying later", metadata: ["action": "\(action)", "error": "\(error)"])
                if case QmpClientError.socketGone = error { throw error }
                if case QmpClientError.closed = error { throw error }
            }
        }
        return ok
    }

    /// Endpoints that keep (or may get) a NIC: every one already wired while its link is
    /// there, and a new one once it is up with an address that is not link-local (the
    /// guest needs it; macvtap takes the endpoint's addresses away after the plug).
    static func desired(_ scan: NamespaceScan, journal: SandboxJournal) -> [HotplugReconcile.Desired] {
        let wired = Set((journal.endpoints ?? []).map(\.ifindex))
        return scan.endpoints.filter { e in
            wired.contains(e.index) || (e.up && e.addresses.contains { !$0.isLinkLocal })
        }.map { HotplugReconcile.Desired(name: $0.name, ifindex: $0.index) }
    }

    private func perform(_ action: HotplugReconcile.Action) throws {
        switch action {
        case .plug(let e):
            let p = try driver.plug(PlugSettings(sandbox: driver.sandbox, endpoint: e, model: model))
            logger.info(
                "plugged", metadata: ["endpoint": "\(e)", "rootPort": "\(p.rootPort)", "ms": "\(Self.milliseconds(p.total))"])
        case .unplug(let e):
            try driver.unplug(endpoint: e)
            logger.info("unplugged", metadata: ["endpoint": "\(e)"])
        case .finishUnplug(let e):
            try driver.unplug(endpoint: e)
            logger.info("finished an interrupted unplug", metadata: ["endpoint": "\(e)"])
        case .undoHost(let e):
            try SandboxPlug.unwire(sandbox: driver.sandbox, endpoint: e, store: driver.store, logger: logger)
            logger.info("undid a plug QEMU never got", metadata: ["endpoint": "\(e)"])
        case .unplugAttached(let e):
            try driver.unplug(endpoint: e)
            logger.info("unplugged an attached endpoint's NIC", metadata: ["endpoint": "\(e)"])
        case .keepAttached(let e):
            logger.debug("attached endpoint gone; detach undoes it", metadata: ["endpoint": "\(e)"])
        }
    }

    static func milliseconds(_ d: Duration) -> Int { Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000) }
}
