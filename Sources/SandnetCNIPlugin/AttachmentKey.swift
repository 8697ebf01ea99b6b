/// The names one CNI attachment (network, container id, interface) gets, derived the same
/// way in every ADD, CHECK, DEL and GC: the journal is found again without prevResult and
/// after a crash, and the tap name is stable across restarts of the runtime.
public struct AttachmentKey: Equatable, Sendable {
    public var network: String
    public var containerID: String
    public var interfaceName: String

    public init(network: String, containerID: String, interfaceName: String) {
        self.network = network
        self.containerID = containerID
        self.interfaceName = interfaceName
    }

    /// The prefix every sandbox of this network carries, for GC.
    public static func sandboxPrefix(network: String) -> String { "cni-\(hex(fnv1a(network), digits: 8))-" }

    /// The sandnet sandbox id: `cni-<network hash>-<container+ifname hash>` (journal file names allow no more).
    public var sandbox: String {
        Self.sandboxPrefix(network: network) + Self.hex(Self.fnv1a(containerID + "\u{0}" + interfaceName), digits: 16)
    }

    /// "tap" and 12 hex digits: 15 bytes, the longest name a Linux link may have.
    public var derivedTapName: String {
        "tap" + Self.hex(Self.fnv1a(network + "\u{0}" + containerID + "\u{0}" + interfaceName), digits: 12)
    }

    /// FNV-1a, 64 bits: stable across processes (Swift's Hasher is seeded per process).
    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    static func hex(_ v: UInt64, digits: Int) -> String {
        let s = String(v, radix: 16)
        let full = String(repeating: "0", count: max(0, 16 - s.count)) + s
        return String(full.suffix(digits))
    }
}

extension AttachmentKey {
    /// The hash itself, so a test can pin it against FNV-1a's published values.
    public static func fnv1aForTests(_ s: String) -> UInt64 { fnv1a(s) }
}
