#if canImport(Glibc)
    import Glibc
#endif

/// One open file descriptor and the duty to close it. Non-copyable, so the type system
/// sees to it that the descriptor is closed exactly once (when the owner goes away) or
/// handed over exactly once (`take()`), never both and never twice.
public struct FileDescriptor: ~Copyable, Sendable {
    /// The descriptor number, valid while this owner lives. Do not close it.
    public let rawValue: Int32

    /// Takes ownership of `rawValue`, an open descriptor (>= 0).
    public init(_ rawValue: Int32) {
        precondition(rawValue >= 0, "FileDescriptor needs an open descriptor, not \(rawValue)")
        self.rawValue = rawValue
    }

    deinit { _ = Glibc.close(rawValue) }

    /// Hands the descriptor to the caller without closing it; the caller must close it.
    public consuming func take() -> Int32 {
        let fd = rawValue
        discard self
        return fd
    }

    /// Closes now; same as letting the owner go, but says so at the call site.
    public consuming func close() {}
}
