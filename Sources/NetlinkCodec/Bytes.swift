// Bounds-checked little helpers for reading and writing host-endian kernel structs.
// Netlink is always in host byte order; a few attributes (ports, VNIs, u32 keys) are
// big-endian on the wire and say so where they are read.

/// Reasons a byte sequence cannot be decoded. Thrown, never trapped on.
public enum DecodeError: Error, Equatable, CustomStringConvertible, Sendable {
    case truncated(what: String, need: Int, have: Int)
    case badLength(what: String, length: Int)
    case misaligned(what: String, offset: Int)
    /// A field holds a value no kernel sends (for example an errno outside -4095...0).
    case invalidValue(what: String, value: Int64)

    public var description: String {
        switch self {
        case .truncated(let what, let need, let have): return "truncated \(what): need \(need) bytes, have \(have)"
        case .badLength(let what, let length): return "invalid length \(length) in \(what)"
        case .misaligned(let what, let offset): return "misaligned \(what) at offset \(offset)"
        case .invalidValue(let what, let value): return "invalid value \(value) in \(what)"
        }
    }
}

/// NLMSG_ALIGN / NLA_ALIGN: everything in netlink is padded to 4 bytes.
@inlinable public func netlinkAlign(_ n: Int) -> Int { (n + 3) & ~3 }

/// A read cursor over a byte slice. Every read checks the remaining length first.
/// Inlinable: family headers are read field by field once per message of a dump.
public struct ByteReader {
    public let bytes: ArraySlice<UInt8>
    public var offset: Int { position }
    @usableFromInline var position: Int

    @inlinable public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }
    @inlinable public init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    @inlinable public var remaining: Int { bytes.endIndex - position }

    @inlinable public mutating func require(_ n: Int, _ what: String) throws {
        guard n >= 0, remaining >= n else { throw DecodeError.truncated(what: what, need: n, have: remaining) }
    }
    @inlinable public mutating func u8(_ what: String = "u8") throws -> UInt8 {
        try require(1, what)
        defer { position += 1 }
        return bytes[position]
    }
    @inlinable public mutating func u16(_ what: String = "u16") throws -> UInt16 {
        try require(2, what)
        defer { position += 2 }
        return UInt16(bytes[position]) | UInt16(bytes[position + 1]) << 8
    }
    @inlinable public mutating func u32(_ what: String = "u32") throws -> UInt32 {
        try require(4, what)
        defer { position += 4 }
        return UInt32(bytes[position]) | UInt32(bytes[position + 1]) << 8 | UInt32(bytes[position + 2]) << 16
            | UInt32(bytes[position + 3]) << 24
    }
    @inlinable public mutating func i32(_ what: String = "i32") throws -> Int32 { Int32(bitPattern: try u32(what)) }
    @inlinable public mutating func u64(_ what: String = "u64") throws -> UInt64 {
        let lo = UInt64(try u32(what))
        let hi = UInt64(try u32(what))
        return lo | hi << 32
    }
    @inlinable public mutating func take(_ n: Int, _ what: String) throws -> ArraySlice<UInt8> {
        try require(n, what)
        defer { position += n }
        return bytes[position..<(position + n)]
    }
    @inlinable public mutating func skip(_ n: Int, _ what: String = "padding") throws { _ = try take(n, what) }
    /// Skip alignment padding if present; a final unpadded item is tolerated.
    @inlinable public mutating func skipPadding(after length: Int) {
        let pad = netlinkAlign(length) - length
        position += min(pad, remaining)
    }
}

/// Append-only byte buffer for building requests.
public struct ByteWriter {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public var count: Int { bytes.count }
    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(v & 0xff))
        bytes.append(UInt8(v >> 8))
    }
    public mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8((v >> (8 * UInt32(i))) & 0xff)) } }
    public mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    public mutating func u64(_ v: UInt64) {
        u32(UInt32(v & 0xffff_ffff))
        u32(UInt32(v >> 32))
    }
    public mutating func append<S: Sequence>(_ s: S) where S.Element == UInt8 { bytes.append(contentsOf: s) }
    public mutating func zeros(_ n: Int) { bytes.append(contentsOf: repeatElement(0, count: n)) }
    public mutating func pad() { zeros(netlinkAlign(bytes.count) - bytes.count) }
    public mutating func patchU16(at i: Int, _ v: UInt16) {
        bytes[i] = UInt8(v & 0xff)
        bytes[i + 1] = UInt8(v >> 8)
    }
    public mutating func patchU32(at i: Int, _ v: UInt32) { for k in 0..<4 { bytes[i + k] = UInt8((v >> (8 * UInt32(k))) & 0xff) } }
}

extension UInt16 { @inlinable public var byteSwappedToNetwork: UInt16 { self.bigEndian } }
