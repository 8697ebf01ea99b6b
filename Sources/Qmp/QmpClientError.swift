import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Why a QMP operation failed: which socket, which command, and QEMU's own words.
public enum QmpClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// connect(2) to the QMP socket failed.
    case cannotConnect(path: String, errno: Int32)
    /// QEMU closed the socket (it exited, or the monitor went away) while `waitingFor` was pending.
    case socketGone(path: String, waitingFor: String)
    /// Nothing answered `waitingFor` within `seconds`.
    case timedOut(path: String, waitingFor: String, seconds: Double)
    /// QEMU refused `command`.
    case commandFailed(command: String, error: QmpError)
    /// The server sent something that is not QMP, or not what the protocol allows here.
    case protocolViolation(path: String, detail: String)
    /// A command succeeded but its reply is not the shape the typed helper expects.
    case unexpectedReply(command: String, detail: String)
    /// A system call on the socket failed.
    case system(operation: String, path: String, errno: Int32)
    /// `close()` was called; the client takes no more commands.
    case closed(path: String)

    public var description: String {
        switch self {
        case .cannotConnect(let path, let e):
            let hint =
                e == ENOENT || e == ECONNREFUSED
                ? "; is QEMU running with -qmp unix:\(path),server=on,wait=off?"
                : e == ENAMETOOLONG ? "; Unix socket paths are limited to 107 bytes" : ""
            return "cannot connect to the QMP socket \(path): \(String(cString: strerror(e)))\(hint)"
        case .socketGone(let path, let what):
            return "the QMP socket \(path) closed while waiting for \(what): QEMU exited or closed its monitor"
        case .timedOut(let path, let what, let seconds):
            return "no answer on the QMP socket \(path) to \(what) within \(formatted(seconds)) s"
        case .commandFailed(let command, let error):
            return "QEMU refused \(command): \(error.desc) (\(error.errorClass))"
        case .protocolViolation(let path, let detail):
            return "the QMP socket \(path) sent something that is not QMP: \(detail)"
        case .unexpectedReply(let command, let detail):
            return "QEMU's reply to \(command) is not what sandnet expects: \(detail)"
        case .system(let operation, let path, let e):
            return "\(operation) on the QMP socket \(path) failed: \(String(cString: strerror(e)))"
        case .closed(let path):
            return "the QMP connection to \(path) was closed by sandnet; connect again"
        }
    }

    /// QEMU's error class when QEMU refused the command.
    public var qemuErrorClass: String? {
        if case .commandFailed(_, let e) = self { return e.errorClass }
        return nil
    }
}

private func formatted(_ s: Double) -> String {
    s == s.rounded() ? String(Int(s)) : String(format: "%.1f", s)
}
