import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
import TapDevices

#if canImport(Glibc)
    import Glibc
#endif

/// The on-disk record of one sandbox: where it is, who is attaching it, and every change
/// made so far. Written atomically (temp file, fsync, rename) before each kernel change, so `detach` and `gc` can undo an attach killed at any point.
public struct SandboxJournal: Codable, Equatable, Sendable {
    /// 2 added `rootPorts` and `plugged` (hotplug); a format-1 journal reads as one with
    /// neither (no spare ports recorded, nothing plugged) and is undone as before.
    public static let formatVersion = 2
    public static let readableFormats: ClosedRange<Int> = 1...2

    public enum State: String, Codable, Sendable { case attaching, attached, detaching }

    public var format: Int
    public var sandbox: String
    /// The namespace file, canonical (`NetworkNamespace.canonical()`): absolute, the same
    /// from any directory (`/run/netns/NAME`, `/proc/PID/ns/net`).
    public var namespacePath: String
    /// Its (device, inode) at attach time: a path that now names another namespace is not touched.
    public var namespaceDevice: UInt64
    public var namespaceInode: UInt64
    /// Its cookie at attach time (SO_NETNS_COOKIE), never reused by another namespace, unlike
    /// the inode. nil in journals written before it was recorded and on kernels without it
    /// (then `namespaceIdentityNote` says so).
    public var namespaceCookie: UInt64?
    /// Set when the namespace is known by (device, inode) only, and why.
    public var namespaceIdentityNote: String?
    /// The character devices of the sandbox's macvtap queues (`/dev/tapN` and private
    /// nodes alike): whoever holds one keeps the sandbox alive (`SandboxLiveness`).
    public var queueDevices: [DeviceNumber]?
    /// The link group every created link is put in (`ip link del group N` removes them).
    public var linkGroup: UInt32
    public var state: State
    /// The process that owns the sandbox while it lives: the attach itself, and after
    /// `--exec`, QEMU (same pid). nil once attached without an owner: only `detach` undoes it.
    public var ownerPID: Int32?
    /// The owner's start time (/proc/PID/stat field 22), so a reused pid is not mistaken for it.
    public var ownerStartTime: UInt64?
    public var steps: [JournalStep]
    /// The endpoints this sandbox holds, recorded before the first change (nil in journals
    /// written before claims were): no other sandbox may attach them (EndpointOwnership).
    public var endpoints: [EndpointClaim]?
    /// What attach produced, for `detach` reports and for re-reading the plan.
    public var summary: AttachSummary?
    /// Device nodes this attach may make in the state directory's `dev/` for a `/dev/tapN`
    /// clash, journaled before they are made: undo and gc remove these, and only these.
    public var deviceNodes: [String]?
    /// Every PCIe root port of the VM, and which endpoint each one carries (nil in
    /// format-1 journals): plug takes a free one from here.
    public var rootPorts: [RootPortRecord]?
    /// Endpoints wired after the attach (`sandnet plug`), each with its own host-side
    /// steps so one can be undone without the others. Detach and gc undo these too.
    public var plugged: [PluggedEndpoint]?
    /// The NICs the attach put on QEMU's command line, with their QEMU ids, so one can be
    /// hot-unplugged when its endpoint goes (nil in journals written before they were
    /// recorded: those NICs stay until detach).
    public var attachedNICs: [AttachedNIC]?

    public init(sandbox: String, namespacePath: String, identity: NamespaceIdentity, cookie: UInt64? = nil, linkGroup: UInt32) {
        format = Self.formatVersion
        self.sandbox = sandbox
        self.namespacePath = namespacePath
        namespaceDevice = identity.device
        namespaceInode = identity.inode
        self.linkGroup = linkGroup
        namespaceCookie = cookie
        state = .attaching
        steps = []
    }

    public func isNamespace(_ id: NamespaceIdentity) -> Bool { id.device == namespaceDevice && id.inode == namespaceInode }

    /// The same, and when both sides know the cookie, the same cookie: a namespace that got
    /// a deleted one's inode number is not it.
    public func isNamespace(_ id: NamespaceIdentity, cookie: UInt64?) -> Bool {
        guard isNamespace(id) else { return false }
        guard let namespaceCookie, let cookie else { return true }
        return namespaceCookie == cookie
    }

    /// Whether the owning process still runs (same pid and start time).
    public var ownerIsAlive: Bool {
        guard let pid = ownerPID else { return false }
        return ProcessIdentity.startTime(of: pid).map { $0 == ownerStartTime } ?? false
    }
}

public enum ProcessIdentity {
    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or nil if no such process.
    public static func startTime(of pid: Int32) -> UInt64? {
        guard let bytes = ProcFile.bytes("/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces): state is field 3.
        let rest = text[text.index(after: close)...].split(separator: " ")
        return rest.count > 19 ? UInt64(rest[19]) : nil
    }
}
