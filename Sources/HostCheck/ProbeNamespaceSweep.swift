import Foundation
import NetlinkSocket

#if canImport(Glibc)
    import Glibc
#endif

/// The throwaway namespaces of live probes are named `sandnet-check-PID-RANDOM`. A probing
/// process killed while one exists cannot delete it; the next probing run does, once the
/// pid in the name belongs to no process (a live one is never touched).
enum ProbeNamespaceSweep {
    static let prefix = "sandnet-check-"

    static func name(pid: Int32 = getpid()) -> String { "\(prefix)\(pid)-\(UInt32.random(in: 0...UInt32.max))" }

    /// The pid a probe namespace name carries, or nil for any other name.
    static func creator(of name: String) -> Int32? {
        guard name.hasPrefix(prefix) else { return nil }
        let parts = name.dropFirst(prefix.count).split(separator: "-")
        guard parts.count == 2, let pid = Int32(parts[0]), pid > 0, UInt32(parts[1]) != nil else { return nil }
        return pid
    }

    /// Deletes the probe namespaces whose creator is gone; returns their names.
    @discardableResult
    static func sweep() -> [String] {
        NetworkNamespace.listNamed().filter { name in
            guard let pid = creator(of: name), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { return false }
            return (try? NetworkNamespace.delete(named: name)) != nil
        }
    }
}
