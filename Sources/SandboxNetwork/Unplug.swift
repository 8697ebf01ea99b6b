import Foundation
import Logging
import NetlinkSocket
import Rtnetlink

extension SandboxPlug {
    /// Undoes one plugged endpoint's host side, checking each object is still sandnet's
    /// (`OwnedObjects`), and leaves every other endpoint alone. Refused while QEMU has the
    /// NIC (state `inGuest` or `unplugging`) unless `evenInGuest`: undoing then would pull
    /// the tap from under a live device. A namespace that is gone took everything along:
    /// the record is dropped. Returns the steps undone, newest first.
    @discardableResult
    public static func unwire(
        sandbox: String, endpoint: String, evenInGuest: Bool = false, store: JournalStore = JournalStore(),
        logger: Logger = SandboxLogging.silent
    ) throws -> [String] {
        try JournalStore.validate(sandbox: sandbox)
        try Privilege.requireNetAdmin(for: "sandnet unplug")
        return try store.withLock("sandbox-\(sandbox)") {
            guard var journal = try store.read(sandbox: sandbox) else { throw SandboxError.notAttached(sandbox) }
            guard let index = journal.plugged?.firstIndex(where: { $0.endpoint == endpoint }) else {
                // An attach NIC with a record is unplugged by `unwire(sandbox:attachedEndpoint:)`.
                let attached = (journal.endpoints?.contains { $0.name == endpoint } ?? false) && journal.attachedNIC(endpoint) == nil
                throw HotplugError.notPlugged(endpoint: endpoint, sandbox: sandbox, attached: attached)
            }
            let record = journal.plugged![index]
            if !evenInGuest, [.inGuest, .unplugging].contains(record.state) {
                throw HotplugError.wrongState(endpoint: endpoint, state: record.state.rawValue, operation: "undo the host side of")
            }
            return try SandboxDetach.undoOneNIC(
                endpoint, kind: "plug record", sandbox: sandbox, journal: &journal, store: store, logger: logger,
                steps: { _, _ in record.steps }, forget: { $0.forget(pluggedAt: index) })
        }
    }

    /// Records how far QEMU got with a plugged endpoint's NIC (see `PluggedEndpoint.State`).
    public static func mark(
        sandbox: String, endpoint: String, state: PluggedEndpoint.State, store: JournalStore = JournalStore()
    ) throws {
        try store.withLock("sandbox-\(sandbox)") {
            guard var journal = try store.read(sandbox: sandbox) else { throw SandboxError.notAttached(sandbox) }
            guard let i = journal.plugged?.firstIndex(where: { $0.endpoint == endpoint }) else {
                throw HotplugError.notPlugged(endpoint: endpoint, sandbox: sandbox, attached: false)
            }
            journal.plugged![i].state = state
            try store.write(journal)
        }
    }

    /// The sandbox's journal as it is now (for plug, unplug and the watcher's reconcile).
    public static func journal(sandbox: String, store: JournalStore = JournalStore()) throws -> SandboxJournal {
        try JournalStore.validate(sandbox: sandbox)
        guard let j = try store.read(sandbox: sandbox) else { throw SandboxError.notAttached(sandbox) }
        return j
    }
}
