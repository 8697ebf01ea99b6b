#if canImport(Glibc)
    import Glibc
#endif

/// A descriptor this module opened and must close exactly once: closed when its owner
/// goes away, or earlier with `close()`.
struct OwnedDescriptor: ~Copyable {
    private(set) var raw: Int32

    init(_ raw: Int32) { self.raw = raw }

    var isOpen: Bool { raw >= 0 }

    mutating func close() {
        if raw >= 0 { _ = Glibc.close(raw) }
        raw = -1
    }

    deinit { if raw >= 0 { _ = Glibc.close(raw) } }
}
