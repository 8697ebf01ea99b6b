import CSandnetLinux
import Foundation
import NetlinkSocket
import TapDevices

#if canImport(Glibc)
    import Glibc
#endif

/// Which processes hold tap and macvtap queue descriptors, found in one pass over /proc.
///
/// A tun/tap queue is an open `/dev/net/tun` whose `/proc/PID/fdinfo/FD` has an `iff:` line
/// naming the tap (the kernel's tun_chr_show_fdinfo). Tap names are per namespace, so a
/// name is only a candidate: `holders` then asks the descriptor itself which namespace its
/// tap is in (a copy through pidfd_getfd, then TUNGETDEVNETNS). A macvtap queue is an open
/// character device with the macvtap's device number, wherever its node is (`/dev/tapN`,
/// a private node, a deleted one); device numbers are unique on the host while the macvtap
/// exists, so a match needs no namespace check.
package struct QueueHolderScan {
    package struct Descriptor: Hashable {
        package var pid: Int32
        package var fd: Int32
        package init(pid: Int32, fd: Int32) {
            self.pid = pid
            self.fd = fd
        }
    }
    /// Open tun queues whose tap has one of the wanted names, by that name.
    private(set) var tunQueues: [String: [Descriptor]] = [:]
    /// Processes holding a wanted character device open.
    private(set) var deviceHolders: [DeviceNumber: [Descriptor]] = [:]

    /// Looks at every descriptor of every process but `excluding` (one readlink each; fdinfo
    /// only for /dev/net/tun, one stat only for paths and only when devices are wanted).
    static func scan(taps: Set<String>, devices: Set<DeviceNumber>, excluding: Set<Int32> = [getpid()]) -> QueueHolderScan {
        var result = QueueHolderScan()
        guard !taps.isEmpty || !devices.isEmpty else { return result }
        for pid in numericEntries(of: "/proc") where !excluding.contains(pid) {
            let fdDir = "/proc/\(pid)/fd"
            for fd in numericEntries(of: fdDir) {
                guard let target = readLink("\(fdDir)/\(fd)"), target.hasPrefix("/") else { continue }
                if target == TunTap.controlPath {
                    if let name = tapName(pid: pid, fd: fd), taps.contains(name) {
                        result.tunQueues[name, default: []].append(Descriptor(pid: pid, fd: fd))
                    }
                } else if !devices.isEmpty {
                    var st = stat()
                    guard stat("\(fdDir)/\(fd)", &st) == 0, st.st_mode & S_IFMT == S_IFCHR else { continue }
                    let n = DeviceNumber(major: sandnet_dev_major(UInt64(st.st_rdev)), minor: sandnet_dev_minor(UInt64(st.st_rdev)))
                    if devices.contains(n) { result.deviceHolders[n, default: []].append(Descriptor(pid: pid, fd: fd)) }
                }
            }
        }
        return result
    }

    /// Processes that hold a queue of one of `taps` in the namespace `identity` (and
    /// `cookie`, when known), or of one of `devices`, each with what it holds.
    func holders(taps: [String], in identity: NamespaceIdentity, cookie: UInt64?, devices: [DeviceNumber]) -> [(pid: Int32, holds: String)]
    {
        var found: [Int32: String] = [:]
        for name in taps {
            for d in tunQueues[name] ?? [] where found[d.pid] == nil {
                switch Self.namespaceOfQueue(d, tap: name) {
                case .exited: continue
                case .namespace(let id, let c):
                    guard id == identity, cookie == nil || c == nil || c == cookie else { continue }
                    found[d.pid] = "descriptor \(d.fd), a queue of tap \(name)"
                case .unknown(let why):
                    // Cannot tell which namespace: count it, keeping a sandbox is the safe mistake.
                    found[d.pid] = "descriptor \(d.fd), a queue of a tap named \(name) (\(why))"
                }
            }
        }
        for n in devices {
            for d in deviceHolders[n] ?? [] where found[d.pid] == nil && Self.macvtapQueueIsAttached(d, device: n) {
                found[d.pid] = "a queue of macvtap character device \(n)"
            }
        }
        return found.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    package enum QueueNamespace {
        case exited
        case namespace(NamespaceIdentity, cookie: UInt64?)
        case unknown(String)
    }

    /// The namespace of the tap `tap` that descriptor `d` was a queue of when the scan saw it.
    /// The process may have closed it since and reused the number for anything: a copy that is
    /// no longer a /dev/net/tun queue of `tap` says the queue is gone, not "cannot tell".
    package static func namespaceOfQueue(_ d: Descriptor, tap: String) -> QueueNamespace {
        let copy = sandnet_copy_descriptor(d.pid, d.fd)
        guard copy >= 0 else {
            let e = errno
            return e == ESRCH || e == EBADF ? .exited : .unknown("pidfd_getfd: \(String(cString: strerror(e)))")
        }
        defer { close(copy) }
        guard isTunQueue(copy), tapName(pid: getpid(), fd: copy) == tap else { return .exited }
        let ns = sandnet_tun_get_dev_netns(copy)
        guard ns >= 0 else {
            // EBADFD: the tap went away or the descriptor was detached from it.
            let e = errno
            return e == EBADFD || e == EBADF ? .exited : .unknown("TUNGETDEVNETNS: \(String(cString: strerror(e)))")
        }
        defer { close(ns) }
        guard let id = try? NamespaceIdentity(descriptor: ns) else { return .unknown("fstat of its namespace failed") }
        return .namespace(
            id, cookie: try? NetworkNamespace.cookie(ofNamespaceAt: ns, description: "namespace of queue \(d.fd) of process \(d.pid)"))
    }

    /// Whether descriptor `d` is still a queue of a macvtap numbered `n`. A macvtap's minor
    /// is freed when the macvtap is deleted while a process may keep its old queue open; a
    /// new macvtap then gets the same number, and the stale descriptor looked like a holder
    /// (seen: detach refused while another test's process held a queue of a deleted one). A
    /// queue whose macvtap is gone answers TUNGETIFF with ENOLINK. Anything not known to be
    /// stale counts: keeping a sandbox is the safe mistake.
    package static func macvtapQueueIsAttached(_ d: Descriptor, device n: DeviceNumber) -> Bool {
        let copy = sandnet_copy_descriptor(d.pid, d.fd)
        guard copy >= 0 else {
            let e = errno
            return !(e == ESRCH || e == EBADF)
        }
        defer { close(copy) }
        var st = stat()
        guard fstat(copy, &st) == 0, st.st_mode & S_IFMT == S_IFCHR,
            sandnet_dev_major(UInt64(st.st_rdev)) == n.major, sandnet_dev_minor(UInt64(st.st_rdev)) == n.minor
        else { return false } // the number now holds something else
        var name = [CChar](repeating: 0, count: 16)
        var flags: UInt16 = 0
        if sandnet_tun_get_iff(copy, &name, &flags) != 0 {
            let e = errno
            return !(e == ENOLINK || e == EBADFD)
        }
        return true
    }

    /// Whether `fd` is an open /dev/net/tun (the misc character device 10:200), whatever its path.
    static func isTunQueue(_ fd: Int32) -> Bool {
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFCHR else { return false }
        return sandnet_dev_major(UInt64(st.st_rdev)) == 10 && sandnet_dev_minor(UInt64(st.st_rdev)) == 200
    }

    /// `/proc/PID/fdinfo/FD`'s `iff:` value: the tap an open /dev/net/tun is attached to.
    static func tapName(pid: Int32, fd: Int32) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/fdinfo/\(fd)", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("iff:") {
            return line.dropFirst(4).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    static func readLink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The entries of `dir` that are numbers (pids in /proc, descriptors in /proc/PID/fd).
    static func numericEntries(of dir: String) -> [Int32] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [Int32] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let n = Int32(name) { out.append(n) }
        }
        return out
    }
}
