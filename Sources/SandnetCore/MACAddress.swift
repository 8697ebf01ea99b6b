/// A link-layer (MAC) address. Usually 6 bytes, but kept as given.
///
/// Six bytes are held inline (no heap allocation: a scan decodes one to three per link);
/// other lengths (a tunnel's IPv4 or IPv6 "hardware" address, an InfiniBand GUID) in an array.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible, Codable {
    /// Canonical: `.other` never holds exactly six bytes, so the synthesized equality and
    /// hash compare bytes.
    private enum Storage: Hashable, Sendable {
        /// The six bytes, first byte in bits 40–47.
        case six(UInt64)
        case other([UInt8])
    }
    private var storage: Storage

    public var bytes: [UInt8] {
        get {
            switch storage {
            case .six(let v): return (0..<6).map { n in UInt8(truncatingIfNeeded: v >> (8 * UInt64(5 - n))) }
            case .other(let b): return b
            }
        }
        set { self = MACAddress(bytes: newValue) }
    }
    public init(bytes: [UInt8]) {
        if bytes.count == 6 {
            storage = .six(bytes.reduce(0) { $0 << 8 | UInt64($1) })
        } else {
            storage = .other(bytes)
        }
    }
    /// From raw bytes (a decoder's view of a received datagram); six bytes allocate nothing.
    public init(bytes raw: UnsafeRawBufferPointer) {
        if raw.count == 6 {
            var v: UInt64 = 0
            for b in raw { v = v << 8 | UInt64(b) }
            storage = .six(v)
        } else {
            storage = .other(Array(raw))
        }
    }
    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 6 else { return nil }
        var v: UInt64 = 0
        for p in parts {
            guard p.count == 2, let b = UInt8(p, radix: 16) else { return nil }
            v = v << 8 | UInt64(b)
        }
        storage = .six(v)
    }
    /// How many bytes the address has (6 for Ethernet).
    public var count: Int {
        switch storage {
        case .six: return 6
        case .other(let b): return b.count
        }
    }
    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
    private var firstByte: UInt8 {
        switch storage {
        case .six(let v): return UInt8(truncatingIfNeeded: v >> 40)
        case .other(let b): return b.first ?? 0
        }
    }
    public var isLocallyAdministered: Bool { firstByte & 0x02 != 0 }
    public var isMulticast: Bool { firstByte & 0x01 != 0 }
    /// A random unicast, locally administered address.
    public static func randomLocal() -> MACAddress {
        var b = (0..<6).map { _ in UInt8.random(in: 0...255) }
        b[0] = (b[0] & 0xfe) | 0x02
        return MACAddress(bytes: b)
    }
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let m = MACAddress(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad MAC \(s)"))
        }
        self = m
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
