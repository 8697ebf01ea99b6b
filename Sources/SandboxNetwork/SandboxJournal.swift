import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
#if canImport(Glibc)
import Glibc
#endif

/// The on-disk record of one sandbox: where it is, who is attaching it, and every change
/// made so far. Written atomically (temp file, fsync, rename) before each kernel change, so `detach` and `gc` can undo an attach killed at any point.
public struct SandboxJournal: Codable, Equatable, Sendable {
    public static let formatVersion = 1

    public enum State: String, Codable, Sendable { case attaching, attached, detaching }

    public var format: Int
    public var sandbox: String
    /// The namespace file as given (`/run/netns/NAME`, `/proc/PID/ns/net`).
    public var namespacePath: String
    /// Its (device, inode) at attach time: a path that now names another namespace is not touched.
    public var namespaceDevice: UInt64
    public var namespaceInode: UInt64
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

    public init(sandbox: String, namespacePath: String, identity: NamespaceIdentity, linkGroup: UInt32) {
        format = Self.formatVersion; self.sandbox = sandbox; self.namespacePath = namespacePath
        namespaceDevice = identity.device; namespaceInode = identity.inode; self.linkGroup = linkGroup
        state = .attaching; steps = []
    }

    public func isNamespace(_ id: NamespaceIdentity) -> Bool { id.device == namespaceDevice && id.inode == namespaceInode }

    /// Whether the owning process still runs (same pid and start time).
    public var ownerIsAlive: Bool {
        guard let pid = ownerPID else { return false }
        return ProcessIdentity.startTime(of: pid).map { $0 == ownerStartTime } ?? false
    }
}

public enum ProcessIdentity {
    /// Field 22 of /proc/PID/stat (start time in clock ticks since boot), or nil if no such process.
    public static func startTime(of pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces): state is field 3.
        let rest = text[text.index(after: close)...].split(separator: " ")
        return rest.count > 19 ? UInt64(rest[19]) : nil
    }
}
