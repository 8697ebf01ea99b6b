/// A finished child: how it ended and everything it wrote.
public struct ProcessOutcome: Sendable, Equatable {
    public var termination: ProcessTermination
    public var stdout: [UInt8]
    public var stderr: [UInt8]

    /// The exit status, or nil when a signal killed it.
    public var status: Int32? {
        if case .exited(let s) = termination { return s }
        return nil
    }
    /// The signal that killed it, or nil when it exited.
    public var signal: Int32? {
        if case .killed(let sig) = termination { return sig }
        return nil
    }
    public var succeeded: Bool { termination == .exited(0) }

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}
