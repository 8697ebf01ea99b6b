/// An IPv4 or IPv6 address as raw network-order bytes, held inline: a scan decodes
/// thousands of them, and an array per IPv6 address was a heap allocation each.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible, Codable {
    case v4(UInt8, UInt8, UInt8, UInt8)
    /// The 16 bytes as two big-endian halves: `high` holds bytes 0–7, `low` bytes 8–15
    /// (so 2001:db8::1 is `.v6(0x2001_0db8_0000_0000, 1)`).
    case v6(high: UInt64, low: UInt64)

    /// An IPv6 address from its 16 network-order bytes; nil for any other length.
    public static func v6(bytes: some Collection<UInt8>) -> IPAddress? {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (n, b) in bytes.enumerated() {
            if n < 8 { high = high << 8 | UInt64(b) } else { low = low << 8 | UInt64(b) }
        }
        return .v6(high: high, low: low)
    }

    public init?(bytes: some Collection<UInt8>) {
        switch bytes.count {
        case 4:
            // No intermediate array: addresses are decoded thousands of times per scan.
            var i = bytes.startIndex
            let a = bytes[i]
            bytes.formIndex(after: &i)
            let b = bytes[i]
            bytes.formIndex(after: &i)
            let c = bytes[i]
            bytes.formIndex(after: &i)
            self = .v4(a, b, c, bytes[i])
        case 16:
            guard let v = IPAddress.v6(bytes: bytes) else { return nil }
            self = v
        default: return nil
        }
    }

    /// The same, not generic, so decoders in other modules call a specialized version
    /// (the generic one showed up in scan profiles).
    public init?(bytes: ArraySlice<UInt8>) {
        guard let a = bytes.withUnsafeBytes({ IPAddress(bytes: $0) }) else { return nil }
        self = a
    }

    /// From raw bytes (a decoder's view of a received datagram): 4 or 16 bytes, else nil.
    public init?(bytes raw: UnsafeRawBufferPointer) {
        switch raw.count {
        case 4: self = .v4(raw[0], raw[1], raw[2], raw[3])
        case 16:
            self = .v6(
                high: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                low: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        default: return nil
        }
    }

    /// Network-order bytes (a new array: 4 or 16 bytes).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let a, let b, let c, let d): return [a, b, c, d]
        case .v6(let high, let low):
            return (0..<16).map { n in UInt8(truncatingIfNeeded: (n < 8 ? high : low) >> (8 * UInt64(7 - n % 8))) }
        }
    }
    /// `.inet` or `.inet6` (AF_INET, AF_INET6).
    public var family: IPFamily { if case .v4 = self { return .inet } else { return .inet6 } }
    public var isIPv4: Bool { if case .v4 = self { return true } else { return false } }
    public var bitLength: Int { isIPv4 ? 32 : 128 }

    /// Parses dotted quad or RFC 4291 text (with `::` and an embedded IPv4 tail).
    public init?(_ text: String) {
        if text.contains(":") {
            guard let b = IPAddress.parseV6(text), let v = IPAddress.v6(bytes: b) else { return nil }
            self = v
        } else {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var out: [UInt8] = []
            for p in parts {
                guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isNumber), let v = UInt8(p) else { return nil }
                out.append(v)
            }
            self = .v4(out[0], out[1], out[2], out[3])
        }
    }

    private static func parseV6(_ text: String) -> [UInt8]? {
        var halves: [String] = []
        if let r = text.firstRange(of: "::") {
            halves = [String(text[..<r.lowerBound]), String(text[r.upperBound...])]
            if halves[1].contains("::") { return nil }
        } else {
            halves = [text]
        }
        func groups(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            let parts = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                if i == parts.count - 1, p.contains("."), case .v4(let a, let b, let c, let d)? = IPAddress(String(p)) {
                    out.append(UInt16(a) << 8 | UInt16(b))
                    out.append(UInt16(c) << 8 | UInt16(d))
                } else {
                    guard !p.isEmpty, p.count <= 4, let v = UInt16(p, radix: 16) else { return nil }
                    out.append(v)
                }
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all: [UInt16]
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard head.count == 8 else { return nil }
            all = head
        }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    /// Canonical text (RFC 5952 for IPv6: lowercase, longest zero run compressed).
    public var description: String {
        switch self {
        case .v4(let a, let b, let c, let d): return "\(a).\(b).\(c).\(d)"
        case .v6(let high, let low):
            let g = (0..<8).map { n in UInt16(truncatingIfNeeded: (n < 4 ? high : low) >> (16 * UInt64(3 - n % 4))) }
            var bestStart = -1
            var bestLen = 0
            var i = 0
            while i < 8 {
                if g[i] == 0 {
                    var j = i
                    while j < 8 && g[j] == 0 { j += 1 }
                    if j - i > bestLen && j - i > 1 {
                        bestStart = i
                        bestLen = j - i
                    }
                    i = j
                } else {
                    i += 1
                }
            }
            func hex(_ r: ArraySlice<UInt16>) -> String { r.map { String($0, radix: 16) }.joined(separator: ":") }
            if bestStart < 0 { return hex(g[...]) }
            return hex(g[0..<bestStart]) + "::" + hex(g[(bestStart + bestLen)...])
        }
    }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let a = IPAddress(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad IP address \(s)"))
        }
        self = a
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
