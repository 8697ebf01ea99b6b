/// What the watcher does to make the VM's NICs equal the namespace's endpoints: a pure
/// function of three views, so every case is a unit test. The views disagree after a
/// crash (the watcher's, a plug's, QEMU's) or while CNI is still at work.
public enum HotplugReconcile {
    /// An endpoint of the namespace that is ready for a NIC (up, addressed, settled).
    public struct Desired: Equatable, Sendable {
        public var name: String
        public var ifindex: Int32
        public init(name: String, ifindex: Int32) {
            self.name = name
            self.ifindex = ifindex
        }
    }

    public enum Action: Equatable, Sendable {
        /// Wire it and hot-add its NIC.
        case plug(endpoint: String)
        /// Its NIC is in the guest: announce the removal, device_del, wait, netdev_del, undo the host side.
        case unplug(endpoint: String)
        /// QEMU no longer has its device (an unplug that was cut short): netdev_del
        /// (tolerating its absence), then undo the host side.
        case finishUnplug(endpoint: String)
        /// Host side made (or half made) but never handed to QEMU: undo it.
        case undoHost(endpoint: String)
        /// An endpoint the attach wired is gone from the namespace (or its unplug was cut
        /// short): announce the removal, device_del its boot NIC (unless QEMU no longer has
        /// it), wait, netdev_del, undo its part of the attach's steps.
        case unplugAttached(endpoint: String)
        /// An endpoint the attach wired without a NIC record (model none, or a journal
        /// written before NICs were recorded) is gone: detach undoes it. Logged only.
        case keepAttached(endpoint: String)
    }

    /// - Parameters:
    ///   - desired: the namespace's ready endpoints (all of them, plugged or not).
    ///   - attached: the endpoints the attach itself wired (the journal's claims that are not plugs).
    ///   - plugged: the journal's plug records.
    ///   - qemuDevices: the device ids QEMU reports (`query-pci` qdev ids); nil when QEMU
    ///     was not asked: the journal's states are then taken as they are.
    ///   - attachedNICs: the journal's records of the attach's NICs.
    /// Cleanups come first (they free root ports), plugs last; each group by name.
    public static func actions(
        desired: [Desired], attached: [EndpointClaim], plugged: [PluggedEndpoint], qemuDevices: Set<String>?,
        attachedNICs: [AttachedNIC] = []
    ) -> [Action] {
        let wanted = Dictionary(desired.map { ($0.ifindex, $0) }, uniquingKeysWith: { a, _ in a })
        var cleanups: [Action] = []
        // A plug record stands for its endpoint while the same link (ifindex) is still wanted.
        var covered = Set<Int32>()
        for p in plugged.sorted(by: { $0.endpoint < $1.endpoint }) {
            let stillWanted = wanted[p.ifindex] != nil
            let inQemu = qemuDevices.map { $0.contains(p.nicID + "-nic") }
            switch p.state {
            case .wiring:
                // A plug killed midway: its host side may be partial. Undo, then plug afresh.
                cleanups.append(.undoHost(endpoint: p.endpoint))
            case .wired:
                if inQemu == true {
                    // device_add went through but the record was not updated: treat as in the guest.
                    if stillWanted { covered.insert(p.ifindex) } else { cleanups.append(.unplug(endpoint: p.endpoint)) }
                } else {
                    // The descriptors died with the process that opened them: nothing can hand them to QEMU now.
                    cleanups.append(.undoHost(endpoint: p.endpoint))
                }
            case .inGuest:
                if inQemu == false {
                    cleanups.append(.finishUnplug(endpoint: p.endpoint))
                } else if stillWanted {
                    covered.insert(p.ifindex)
                } else {
                    cleanups.append(.unplug(endpoint: p.endpoint))
                }
            case .unplugging:
                // Never back into the guest once its removal was announced: finish it, plug afresh if wanted.
                cleanups.append(inQemu == false ? .finishUnplug(endpoint: p.endpoint) : .unplug(endpoint: p.endpoint))
            }
        }
        let attachedIndexes = Set(attached.map(\.ifindex))
        let pluggedIndexes = Set(plugged.map(\.ifindex))
        let nics = Dictionary(
            attachedNICs.filter { $0.state != .unplugged && attachedIndexes.contains($0.ifindex) }.map { ($0.ifindex, $0) },
            uniquingKeysWith: { a, _ in a })
        var kept: [Action] = []
        for a in attached.sorted(by: { $0.name < $1.name }) where !pluggedIndexes.contains(a.ifindex) {
            let gone = wanted[a.ifindex] == nil
            if let nic = nics[a.ifindex] {
                // As a plug's: once its removal was announced it never goes back into the guest.
                if gone || nic.state == .unplugging { cleanups.append(.unplugAttached(endpoint: nic.endpoint)) }
            } else if gone {
                kept.append(.keepAttached(endpoint: a.name))
            }
        }
        let plugs = desired.filter { !covered.contains($0.ifindex) && !attachedIndexes.contains($0.ifindex) }
            .sorted { $0.name < $1.name }.map { Action.plug(endpoint: $0.name) }
        return cleanups + kept + plugs
    }
}

extension SandboxJournal {
    /// The endpoints the attach wired itself: its claims that are no plug's.
    public var attachedEndpoints: [EndpointClaim] {
        let plugs = Set((plugged ?? []).map(\.ifindex))
        return (endpoints ?? []).filter { !plugs.contains($0.ifindex) }
    }
}
