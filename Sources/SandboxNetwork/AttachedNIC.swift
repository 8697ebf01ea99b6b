import Foundation
import Logging
import NetlinkSocket
import Rtnetlink
import SandnetCore
import TapDevices

/// A NIC the attach gave QEMU on its command line (`-netdev`/`-device` from
/// `QemuNetworkPlan`), as the journal keeps it so the watcher or `sandnet unplug` can take
/// it out of a running VM alone, as they do a plugged one.
public struct AttachedNIC: Codable, Equatable, Sendable {
    /// How far a hot-unplug of it got.
    public enum State: String, Codable, Sendable {
        /// On QEMU's command line: the guest has it (once QEMU runs).
        case attached
        /// The removal was announced and `device_del` sent (or about to be); QEMU's
        /// DEVICE_DELETED not seen yet, or the host side not undone yet. Never back from here.
        case unplugging
        /// Out of QEMU and its host side undone: detach and gc skip its steps.
        case unplugged
    }

    public var endpoint: String
    public var ifindex: Int32
    /// QEMU's netdev id (`sn<i>`) and device id (`sn<i>-nic`).
    public var netdev: String
    public var device: String
    /// The tap or macvtap made for it.
    public var hostDevice: String?
    public var rootPort: String?
    public var guestMAC: MACAddress
    /// The macvtap's character device, also listed in the journal's `queueDevices`.
    public var queueDevice: DeviceNumber?
    public var state: State

    public init(
        endpoint: String, ifindex: Int32, netdev: String, device: String, hostDevice: String?, rootPort: String?,
        guestMAC: MACAddress, queueDevice: DeviceNumber? = nil, state: State = .attached
    ) {
        self.endpoint = endpoint
        self.ifindex = ifindex
        self.netdev = netdev
        self.device = device
        self.hostDevice = hostDevice
        self.rootPort = rootPort
        self.guestMAC = guestMAC
        self.queueDevice = queueDevice
        self.state = state
    }
}

extension JournalStep {
    /// The links the step touches, as it recorded them (ifindex where it did).
    var links: [(name: String, ifindex: Int32?)] {
        switch self {
        case .createLink(let n, _, let i): return [(n, i)]
        case .addIngressQdisc(let l, let i, _): return [(l, i)]
        case .addRedirect(let f, let t, let fi, let ti, _, _): return [(f, fi), (t, ti)]
        case .setMAC(let l, _, _, let i): return [(l, i)]
        case .removeAddresses(let l, _): return [(l, nil)]
        case .setTxQueueLength(let l, let i, _, _): return [(l, i)]
        case .addRateQdisc(let l, let i, _, _), .addRateClass(let l, let i, _, _, _): return [(l, i)]
        }
    }
}

extension SandboxJournal {
    /// The positions in `steps` of the attach's changes for one endpoint: those on the
    /// endpoint or its tap/macvtap, and on whatever links the redirects of those reach (an
    /// ifb of an ingress limit). No step of the attach touches two endpoints' links, and
    /// names are unique among the attach's steps, so matching a name or an ifindex is exact.
    public func attachStepIndexes(of nic: AttachedNIC) -> [Int] {
        var names: Set<String> = [nic.endpoint]
        var indexes: Set<Int32> = [nic.ifindex]
        if let d = nic.hostDevice { names.insert(d) }
        func touches(_ l: (name: String, ifindex: Int32?)) -> Bool {
            names.contains(l.name) || l.ifindex.map(indexes.contains) == true
        }
        var grew = true
        while grew {
            grew = false
            for step in steps where step.links.contains(where: touches) {
                for l in step.links {
                    if names.insert(l.name).inserted { grew = true }
                    if let i = l.ifindex, indexes.insert(i).inserted { grew = true }
                }
            }
        }
        return steps.indices.filter { steps[$0].links.contains(where: touches) }
    }

    /// The attach's steps without those of NICs hot-unplugged since (already undone).
    public var attachStepsStillMade: [JournalStep] {
        let undone = Set((attachedNICs ?? []).filter { $0.state == .unplugged }.flatMap { attachStepIndexes(of: $0) })
        return steps.indices.filter { !undone.contains($0) }.map { steps[$0] }
    }

    /// The NIC record of an attached endpoint not unplugged yet, by the name attach gave it.
    public func attachedNIC(_ endpoint: String) -> Int? {
        attachedNICs?.firstIndex { $0.endpoint == endpoint && $0.state != .unplugged }
    }

    /// Records that an attached NIC is out of QEMU and its host side undone: its claim,
    /// root port and queue device are released for a later plug.
    mutating func forget(attachedNICAt i: Int) {
        let n = attachedNICs![i]
        attachedNICs![i].state = .unplugged
        endpoints?.removeAll { $0.ifindex == n.ifindex }
        if let p = rootPorts?.firstIndex(where: { $0.endpoint == n.endpoint && $0.id == n.rootPort }) { rootPorts![p].endpoint = nil }
        if let d = n.queueDevice { queueDevices?.removeAll { $0 == d } }
    }
}

extension SandboxPlug {
    /// Records how far a hot-unplug of an attached NIC got (see `AttachedNIC.State`).
    public static func mark(
        sandbox: String, attachedEndpoint endpoint: String, state: AttachedNIC.State, store: JournalStore = JournalStore()
    ) throws {
        try store.withLock("sandbox-\(sandbox)") {
            guard var journal = try store.read(sandbox: sandbox) else { throw SandboxError.notAttached(sandbox) }
            guard let i = journal.attachedNIC(endpoint) else {
                throw HotplugError.notPlugged(endpoint: endpoint, sandbox: sandbox, attached: false)
            }
            journal.attachedNICs![i].state = state
            try store.write(journal)
        }
    }

    /// Undoes the host side the attach made for one endpoint whose NIC QEMU has let go
    /// (state `unplugging`): its steps picked from the attach's (`attachStepIndexes`),
    /// each checked to be still sandnet's (`OwnedObjects`), its links deleted alone; an
    /// endpoint that was deleted took its qdiscs and filters along (nothing to undo).
    /// Then the NIC is marked `unplugged`, its claim and root port freed. A namespace that
    /// is gone took everything along: only the journal changes. Returns the steps undone.
    @discardableResult
    public static func unwire(
        sandbox: String, attachedEndpoint endpoint: String, store: JournalStore = JournalStore(),
        logger: Logger = SandboxLogging.silent
    ) throws -> [String] {
        try JournalStore.validate(sandbox: sandbox)
        try Privilege.requireNetAdmin(for: "sandnet unplug")
        return try store.withLock("sandbox-\(sandbox)") {
            guard var journal = try store.read(sandbox: sandbox) else { throw SandboxError.notAttached(sandbox) }
            guard let i = journal.attachedNIC(endpoint) else {
                throw HotplugError.notPlugged(endpoint: endpoint, sandbox: sandbox, attached: false)
            }
            let nic = journal.attachedNICs![i]
            guard nic.state == .unplugging else {
                throw HotplugError.wrongState(endpoint: endpoint, state: nic.state.rawValue, operation: "undo the host side of")
            }
            return try SandboxDetach.undoOneNIC(
                endpoint, kind: "attached NIC", sandbox: sandbox, journal: &journal, store: store, logger: logger,
                steps: { journal, rt in
                    var mine = journal.attachStepIndexes(of: nic).map { journal.steps[$0] }
                    // Deleted with its pod network: a link of its name now is another one, which must not get its addresses.
                    if try OwnedObjects.find(nic.endpoint, nic.ifindex, rt) == nil {
                        mine.removeAll { if case .removeAddresses = $0 { true } else { false } }
                    }
                    return mine
                }, forget: { $0.forget(attachedNICAt: i) })
        }
    }
}
