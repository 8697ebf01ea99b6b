import CSandnetLinux
import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A macvtap to create: `ip link add link PARENT name NAME [index N] type macvtap mode MODE`.
public struct MacvtapSpec: Sendable, Equatable {
    public var name: String
    public var parent: LinkReference
    public var mode: MacvlanMode
    /// Ask for this ifindex; the character device is named after it (`/dev/tapN`).
    public var index: Int32?
    public var address: MACAddress?
    public var mtu: UInt32?
    public var up: Bool
    public init(
        name: String, parent: LinkReference, mode: MacvlanMode = .bridge, index: Int32? = nil,
        address: MACAddress? = nil, mtu: UInt32? = nil, up: Bool = true
    ) {
        self.name = name
        self.parent = parent
        self.mode = mode
        self.index = index
        self.address = address
        self.mtu = mtu
        self.up = up
    }
}

/// A character device number.
public struct DeviceNumber: Hashable, Sendable, Codable, CustomStringConvertible {
    public var major: UInt32
    public var minor: UInt32
    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }
    /// Parses sysfs `dev` files: `246:1`.
    public init?(_ text: String) {
        let p = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":")
        guard p.count == 2, let a = UInt32(p[0]), let b = UInt32(p[1]) else { return nil }
        self.init(major: a, minor: b)
    }
    public var description: String { "\(major):\(minor)" }
}

/// Failures particular to macvtap character devices.
public enum MacvtapError: Error, CustomStringConvertible, Sendable {
    /// `/dev/tapN` exists but is another namespace's macvtap with the same ifindex.
    case deviceNodeClash(path: String, found: DeviceNumber, expected: DeviceNumber?, device: String)
    /// sysfs has no character device for the link (not a macvtap, or gone).
    case noCharacterDevice(index: Int32, reason: String)

    public var description: String {
        switch self {
        case .deviceNodeClash(let path, let found, let expected, let device):
            let ours = expected.map { ", ours is \($0)" } ?? ""
            return
                "\(path) is character device \(found), which belongs to another macvtap with the same ifindex in a different network namespace\(ours); "
                + "QEMU opening \(path) would get that device's queues instead of \(device)'s. "
                + "Fix: let the kernel choose the ifindex, or open the queues through a private device node (nodeDirectory)"
        case .noCharacterDevice(let index, let reason):
            return "no macvtap character device for ifindex \(index): \(reason)"
        }
    }
}

/// macvtap devices and their `/dev/tapN` queues.
///
/// /sys/class/net and /sys/class/macvtap only show the namespace that mounted /sys, while
/// devtmpfs nodes (`/dev/tapN`) are global and named after a per-namespace ifindex: two
/// namespaces with a macvtap at the same ifindex share one /dev name. So the device number
/// is read from a sysfs mounted in the device's own namespace, and `/dev/tapN` is only used
/// when it really is that device.
public enum Macvtap {
    /// Where device nodes are made when /dev has none (or a clashing one) and the caller
    /// gave no directory.
    public static let defaultNodeDirectory = "/run/sandnet/macvtap"

    /// Creates the macvtap and returns it. With a requested index whose `/dev/tapN` already
    /// exists (another namespace's macvtap), throws `deviceNodeClash` unless `allowClash`
    /// (the caller will open queues through a private node).
    @discardableResult
    public static func create(_ spec: MacvtapSpec, in rt: Rtnetlink, allowClash: Bool = false) throws -> Link {
        if let n = spec.index, !allowClash {
            let path = "/dev/tap\(n)"
            if let found = nodeNumber(path) {
                throw MacvtapError.deviceNodeClash(path: path, found: found, expected: nil, device: spec.name)
            }
        }
        let echoed = try rt.linkAdd(
            LinkSpec(
                name: spec.name, kind: .macvtap(parent: spec.parent, mode: spec.mode), mtu: spec.mtu,
                address: spec.address, up: spec.up, index: spec.index), echo: true)
        return try echoed ?? rt.link(named: spec.name)
    }

    /// `ip link del NAME` for a macvtap.
    public static func delete(_ ref: LinkReference, in rt: Rtnetlink) throws {
        let link = try rt.link(ref)
        guard link.kind == "macvtap" else {
            throw NetlinkError.invalidArgument(
                operation: "delete macvtap", reason: "\(ref) is a \(link.kind ?? "device without a kind"), not a macvtap")
        }
        try rt.linkDelete(.index(link.index))
    }

    /// The character device number of the macvtap at `index` in `namespace`, read from
    /// `/sys/class/macvtap/tapN/dev` of a sysfs mounted inside that namespace.
    public static func deviceNumber(index: Int32, in namespace: NetworkNamespace?) throws -> DeviceNumber {
        let nsFD = try (namespace ?? .current).open()
        defer { close(nsFD) }
        let text = try onPrivateMountThread(namespaceFD: nsFD) { () -> String in
            let path = "/sys/class/macvtap/tap\(index)/dev"
            guard let s = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw MacvtapError.noCharacterDevice(
                    index: index, reason: "\(path) does not exist in \((namespace ?? .current).description)")
            }
            return s
        }
        guard let n = DeviceNumber(text) else {
            throw MacvtapError.noCharacterDevice(index: index, reason: "unreadable dev file \"\(text)\"")
        }
        return n
    }

    /// The character device numbers of several macvtaps of one namespace, read in one visit
    /// to a private sysfs (a thread, a mount namespace and a sysfs mount per visit: too dear
    /// to repeat per device when a sandbox has many).
    public static func deviceNumbers(indexes: [Int32], in namespace: NetworkNamespace?) throws -> [Int32: DeviceNumber] {
        if indexes.isEmpty { return [:] }
        let nsFD = try (namespace ?? .current).open()
        defer { close(nsFD) }
        let texts = try onPrivateMountThread(namespaceFD: nsFD) { () -> [(Int32, String)] in
            try indexes.map { index in
                let path = "/sys/class/macvtap/tap\(index)/dev"
                guard let s = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw MacvtapError.noCharacterDevice(
                        index: index, reason: "\(path) does not exist in \((namespace ?? .current).description)")
                }
                return (index, s)
            }
        }
        var numbers: [Int32: DeviceNumber] = [:]
        for (index, text) in texts {
            guard let n = DeviceNumber(text) else {
                throw MacvtapError.noCharacterDevice(index: index, reason: "unreadable dev file \"\(text)\"")
            }
            numbers[index] = n
        }
        return numbers
    }

    /// Opens `count` queues of the macvtap `name` at `index` whose device number is already
    /// known (from `deviceNumbers`), with the same node rules as `openQueues(_:count:in:)`.
    public static func openQueues(
        name: String, index: Int32, number: DeviceNumber, count: Int, nodeDirectory: String? = nil,
        closeOnExec: Bool = true
    ) throws -> TapQueues {
        let path = try nodePath(index: index, number: number, device: name, nodeDirectory: nodeDirectory)
        var fds: [Int32] = []
        for _ in 0..<count {
            let fd = open(path, O_RDWR | (closeOnExec ? O_CLOEXEC : 0))
            if fd < 0 {
                let e = errno
                for f in fds { close(f) }
                throw NetlinkError.system(operation: "open macvtap queue", object: path, errno: e)
            }
            fds.append(fd)
        }
        return TapQueues(name: name, index: index, devicePath: path, descriptors: fds)
    }

    /// Opens `count` queues of the macvtap `ref` (each open is one queue). Uses `/dev/tapN`
    /// when it is this device; when it is missing, makes a node in `nodeDirectory`; when it
    /// is another device, throws `deviceNodeClash` unless `nodeDirectory` was given.
    public static func openQueues(
        _ ref: LinkReference, count: Int, in rt: Rtnetlink, nodeDirectory: String? = nil,
        closeOnExec: Bool = true
    ) throws -> TapQueues {
        let link = try rt.link(ref)
        guard link.kind == "macvtap" else {
            throw NetlinkError.invalidArgument(
                operation: "open macvtap queues", reason: "\(link.name) is a \(link.kind ?? "device without a kind"), not a macvtap")
        }
        let number = try deviceNumber(index: link.index, in: rt.namespace)
        return try openQueues(
            name: link.name, index: link.index, number: number, count: count, nodeDirectory: nodeDirectory,
            closeOnExec: closeOnExec)
    }

    /// The path to open for the device: `/dev/tapN` if it is ours, else a node we make.
    static func nodePath(index: Int32, number: DeviceNumber, device: String, nodeDirectory: String?) throws -> String {
        let devPath = "/dev/tap\(index)"
        switch nodeNumber(devPath) {
        case number?:
            return devPath
        case let other? where nodeDirectory == nil:
            throw MacvtapError.deviceNodeClash(path: devPath, found: other, expected: number, device: device)
        default:
            let dir = nodeDirectory ?? defaultNodeDirectory
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let path = "\(dir)/\(nodeName(index: index, number: number))"
            if nodeNumber(path) == number { return path }
            unlink(path)
            if sandnet_mknod_char(path, 0o600, number.major, number.minor) != 0 {
                throw NetlinkError.system(operation: "create device node \(number) for", object: path, errno: errno)
            }
            return path
        }
    }

    /// The name of the private node made for the macvtap at `index` with `number`.
    public static func nodeName(index: Int32, number: DeviceNumber) -> String { "tap\(index)-\(number.major)-\(number.minor)" }

    /// The device number of a character device node, nil if missing or not a char device.
    static func nodeNumber(_ path: String) -> DeviceNumber? {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFCHR else { return nil }
        let dev = UInt64(st.st_rdev)
        return DeviceNumber(major: sandnet_dev_major(dev), minor: sandnet_dev_minor(dev))
    }

    /// Runs `body` on a fresh thread that enters the namespace, gets a private mount
    /// namespace with its own sysfs, and then exits, so no pooled thread is changed.
    static func onPrivateMountThread<T: Sendable>(namespaceFD: Int32, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let outcome = Outcome<T>()
        let thread = Thread {
            defer { outcome.done.signal() }
            if sandnet_setns(namespaceFD, sandnet_clone_newnet()) != 0 {
                outcome.set(.failure(NetlinkError.system(operation: "enter network namespace to read sysfs", object: nil, errno: errno)))
                return
            }
            if sandnet_private_sysfs() != 0 {
                outcome.set(.failure(NetlinkError.system(operation: "mount a private sysfs", object: nil, errno: errno)))
                return
            }
            outcome.set(Result { try body() })
        }
        thread.name = "sandnet-sysfs"
        thread.start()
        outcome.done.wait()
        return try outcome.get()
    }
}

/// The result a one-off thread fills in before signalling `done`.
final class Outcome<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, Error>?>(nil)
    let done = DispatchSemaphore(value: 0)

    func set(_ r: Result<T, Error>) { result.withLock { $0 = r } }

    /// After `done`: the thread's result (it always sets one before signalling).
    func get() throws -> T {
        guard let r = result.withLock({ $0 }) else {
            throw NetlinkError.system(operation: "read sysfs on a private mount thread", object: nil, errno: EIO)
        }
        return try r.get()
    }
}
