import Foundation
import NetlinkSocket
import TapDevices

#if canImport(Glibc)
    import Glibc
#endif

/// When a sandbox counts as alive: `gc` leaves it be, and `detach` refuses it without `--force`.
///
/// The rule: a sandbox is alive while its owner process runs (the journal's pid with the
/// same start time), or while any process other than the caller holds one of its queue
/// descriptors (a tun/tap queue of one of its taps, in its namespace, or its macvtap
/// character device). The owner's pid alone is not enough: `qemu -daemonize` forks, the
/// forked QEMU keeps the queues and runs the VM, and the pid sandnet recorded exits. Who
/// holds the queues is what decides whether a VM can still be using the sandbox.
enum SandboxLiveness {
    struct Alive {
        var pid: Int32
        var reason: String
    }

    /// Why the sandbox of `journal` is alive, or nil when nothing keeps it.
    /// `holders` is called (for the /proc pass) only when the owner does not decide it.
    static func check(_ journal: SandboxJournal, holders: () -> QueueHolderScan) -> Alive? {
        if let pid = journal.ownerPID, pid != getpid(), journal.ownerIsAlive {
            return Alive(pid: pid, reason: "owner process \(pid) still runs")
        }
        let held = holders().holders(
            taps: journal.createdLinkNames,
            in: NamespaceIdentity(device: journal.namespaceDevice, inode: journal.namespaceInode),
            cookie: journal.namespaceCookie, devices: journal.queueDevices ?? [])
        guard let first = held.first else { return nil }
        let others = held.count > 1 ? " (and \(held.count - 1) other processes)" : ""
        return Alive(pid: first.pid, reason: "process \(first.pid) holds \(first.holds)\(others), so a VM may still use it")
    }

    /// One /proc pass that covers every journal in `journals`.
    static func scan(for journals: [SandboxJournal]) -> QueueHolderScan {
        QueueHolderScan.scan(taps: Set(journals.flatMap(\.createdLinkNames)), devices: Set(journals.flatMap { $0.queueDevices ?? [] }))
    }
}

extension SandboxJournal {
    /// Links the sandbox made (its taps and macvtaps among them).
    var createdLinkNames: [String] {
        steps.compactMap { if case .createLink(let name, _, _) = $0 { return name } else { return nil } }
    }
}
