/// How a child ended: its exit status, or the signal that killed it.
public enum ProcessTermination: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case killed(signal: Int32)

    /// Decodes a `waitpid` status word.
    init(waitStatus s: Int32) {
        self = (s & 0x7f) == 0 ? .exited((s >> 8) & 0xff) : .killed(signal: s & 0x7f)
    }

    /// The shell's number for it: the exit status, or 128 + the signal.
    public var shellStatus: Int32 {
        switch self {
        case .exited(let s): return s
        case .killed(let sig): return 128 + sig
        }
    }

    public var description: String {
        switch self {
        case .exited(let s): return "exited \(s)"
        case .killed(let sig): return "was killed by signal \(sig) (\(signalName(sig)))"
        }
    }
}

/// "SIGKILL" for 9, and so on; "signal N" for the ones tests do not meet.
func signalName(_ sig: Int32) -> String {
    let names: [Int32: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
        7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
        13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 18: "SIGCONT", 19: "SIGSTOP"
    ]
    return names[sig] ?? "signal \(sig)"
}
