/// An IPv4 or IPv6 address as raw network-order bytes.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible, Codable {
    case v4(UInt8, UInt8, UInt8, UInt8)
    case v6([UInt8]) // always 16 bytes

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
        case 16: self = .v6(Array(bytes))
        default: return nil
        }
    }

    /// The same, not generic, so decoders in other modules call a specialized version
    /// (the generic one showed up in scan profiles).
    public init?(bytes: ArraySlice<UInt8>) {
        let i = bytes.startIndex
        switch bytes.count {
        case 4: self = .v4(bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3])
        case 16: self = .v6(Array(bytes))
        default: return nil
        }
    }

    public var bytes: [UInt8] {
        switch self {
        case .v4(let a, let b, let c, let d): return [a, b, c, d]
        case .v6(let b): return b
        }
    }
    /// `.inet` or `.inet6` (AF_INET, AF_INET6).
    public var family: IPFamily { if case .v4 = self { return .inet } else { return .inet6 } }
    public var isIPv4: Bool { if case .v4 = self { return true } else { return false } }
    public var bitLength: Int { isIPv4 ? 32 : 128 }

    /// Parses dotted quad or RFC 4291 text (with `::` and an embedded IPv4 tail).
    public init?(_ text: String) {
        if text.contains(":") {
            guard let b = IPAddress.parseV6(text) else { return nil }
            self = .v6(b)
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
        case .v6(let b):
            let g = (0..<8).map { UInt16(b[2 * $0]) << 8 | UInt16(b[2 * $0 + 1]) }
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
