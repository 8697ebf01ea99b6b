/// One netlink attribute (struct nlattr + payload). Unknown types stay raw; callers
/// decide what they understand.
public struct NetlinkAttribute: Equatable, Sendable {
    public static let nestedFlag: UInt16 = 0x8000 // NLA_F_NESTED
    public static let byteOrderFlag: UInt16 = 0x4000 // NLA_F_NET_BYTEORDER
    public static let typeMask: UInt16 = 0x3fff

    /// Type with the NESTED/NET_BYTEORDER bits removed.
    public var type: UInt16
    public var isNested: Bool
    /// NLA_F_NET_BYTEORDER: kept so a decoded attribute is re-emitted byte for byte.
    public var isNetworkByteOrder: Bool = false
    /// The payload as a view into the bytes it was decoded from (no copy per attribute:
    /// copying every attribute of a 500-link dump into its own array was most of a scan's
    /// user-space cost). Indices are those of the underlying buffer: use `startIndex`.
    public var payloadSlice: ArraySlice<UInt8>
    /// The payload as its own array (a copy).
    public var payload: [UInt8] {
        get { Array(payloadSlice) }
        set { payloadSlice = newValue[...] }
    }

    public init(type: UInt16, payload: [UInt8], nested: Bool = false) {
        self.type = type & Self.typeMask
        self.payloadSlice = payload[...]
        self.isNested = nested
    }
    public init(type: UInt16, payloadSlice: ArraySlice<UInt8>, nested: Bool = false) {
        self.type = type & Self.typeMask
        self.payloadSlice = payloadSlice
        self.isNested = nested
    }

    // MARK: payload readers (all bounds-checked)
    // The length is checked here, so the happy path builds no error text (string
    // interpolation per attribute read was a visible share of a 500-link scan).
    public func u8() throws -> UInt8 {
        try require(1)
        return payloadSlice[payloadSlice.startIndex]
    }
    public func u16() throws -> UInt16 {
        try require(2)
        var r = ByteReader(payloadSlice)
        return try r.u16()
    }
    public func u32() throws -> UInt32 {
        try require(4)
        var r = ByteReader(payloadSlice)
        return try r.u32()
    }
    public func i32() throws -> Int32 { Int32(bitPattern: try u32()) }
    public func u64() throws -> UInt64 {
        try require(8)
        var r = ByteReader(payloadSlice)
        return try r.u64()
    }
    private func require(_ n: Int) throws {
        if payloadSlice.count < n {
            throw DecodeError.truncated(what: "attribute \(type) (\(n * 8)-bit value)", need: n, have: payloadSlice.count)
        }
    }
    /// Big-endian u16 (ports).
    public func be16() throws -> UInt16 { UInt16(bigEndian: try u16()) }
    /// Big-endian u32 (vxlan VNI is host order, but u32 keys/ids are often network order).
    public func be32() throws -> UInt32 { UInt32(bigEndian: try u32()) }
    /// NUL-terminated string; a missing terminator is accepted.
    public func string() -> String {
        let end = payloadSlice.firstIndex(of: 0) ?? payloadSlice.endIndex
        return String(decoding: payloadSlice[..<end], as: UTF8.self)
    }
    /// Children of a nested attribute (views into the same bytes).
    public func nested() throws -> [NetlinkAttribute] { try NetlinkAttribute.decodeAll(payloadSlice) }

    public func encode(into w: inout ByteWriter) {
        // nla_len is 16 bits: a larger payload is a programming error, not input.
        precondition(
            payloadSlice.count <= Int(UInt16.max) - 4, "netlink attribute \(type) payload of \(payloadSlice.count) bytes exceeds nla_len")
        let length = 4 + payloadSlice.count
        w.u16(UInt16(length))
        w.u16(type | (isNested ? Self.nestedFlag : 0) | (isNetworkByteOrder ? Self.byteOrderFlag : 0))
        w.append(payloadSlice)
        w.pad()
    }

    /// Decodes a run of attributes that fills `bytes` exactly (modulo final padding).
    public static func decodeAll(_ bytes: ArraySlice<UInt8>) throws -> [NetlinkAttribute] {
        var r = ByteReader(bytes)
        var out: [NetlinkAttribute] = []
        out.reserveCapacity(countAttributes(bytes))
        while r.remaining >= 4 {
            let start = r.offset
            let length = Int(try r.u16("nlattr.nla_len"))
            let rawType = try r.u16("nlattr.nla_type")
            guard length >= 4 else { throw DecodeError.badLength(what: "nlattr", length: length) }
            guard length - 4 <= r.remaining else {
                throw DecodeError.truncated(what: "nlattr payload (type \(rawType & typeMask))", need: length - 4, have: r.remaining)
            }
            let payload = try r.take(length - 4, "nlattr payload")
            var a = NetlinkAttribute(type: rawType, payloadSlice: payload)
            a.isNested = rawType & nestedFlag != 0
            a.isNetworkByteOrder = rawType & byteOrderFlag != 0
            out.append(a)
            r.skipPadding(after: r.offset - start)
        }
        // Fewer than 4 trailing bytes can only be padding; anything else is garbage.
        if r.remaining > 0 && bytes[r.offset...].contains(where: { $0 != 0 }) {
            throw DecodeError.truncated(what: "nlattr header", need: 4, have: r.remaining)
        }
        return out
    }

    /// How many attributes `decodeAll` will find, at most: a first pass over the lengths
    /// only, so the result array is allocated once instead of grown per attribute. Never
    /// more than `bytes.count / 4`; the real checks are `decodeAll`'s.
    private static func countAttributes(_ bytes: ArraySlice<UInt8>) -> Int {
        var count = 0
        var i = bytes.startIndex
        while bytes.endIndex - i >= 4 {
            let length = Int(bytes[i]) | Int(bytes[i + 1]) << 8
            if length < 4 { break }
            count += 1
            i += netlinkAlign(length)
        }
        return count
    }
}

extension Array where Element == NetlinkAttribute {
    public func first(_ type: UInt16) -> NetlinkAttribute? { first { $0.type == type } }
    public func all(_ type: UInt16) -> [NetlinkAttribute] { filter { $0.type == type } }
}

/// Builds attribute runs, including nests, into a request body.
public struct AttributeWriter {
    public var writer = ByteWriter()
    public init() {}
    public var bytes: [UInt8] { writer.bytes }

    public mutating func add(_ type: UInt16, _ payload: [UInt8]) {
        NetlinkAttribute(type: type, payload: payload).encode(into: &writer)
    }
    public mutating func add(_ type: UInt16, u8 v: UInt8) { add(type, [v]) }
    public mutating func add(_ type: UInt16, u16 v: UInt16) {
        var w = ByteWriter()
        w.u16(v)
        add(type, w.bytes)
    }
    public mutating func add(_ type: UInt16, u32 v: UInt32) {
        var w = ByteWriter()
        w.u32(v)
        add(type, w.bytes)
    }
    public mutating func add(_ type: UInt16, i32 v: Int32) { add(type, u32: UInt32(bitPattern: v)) }
    public mutating func add(_ type: UInt16, u64 v: UInt64) {
        var w = ByteWriter()
        w.u64(v)
        add(type, w.bytes)
    }
    public mutating func add(_ type: UInt16, be16 v: UInt16) { add(type, u16: v.bigEndian) }
    public mutating func add(_ type: UInt16, be32 v: UInt32) { add(type, u32: v.bigEndian) }
    /// NUL-terminated string, as the kernel expects for names and kinds.
    public mutating func add(_ type: UInt16, string s: String) { add(type, Array(s.utf8) + [0]) }
    public mutating func addFlag(_ type: UInt16) { add(type, []) }

    /// A nested attribute whose children are written by `body`.
    public mutating func nest(_ type: UInt16, nestedFlag: Bool = false, _ body: (inout AttributeWriter) throws -> Void) rethrows {
        let start = writer.count
        writer.u16(0)
        writer.u16(type | (nestedFlag ? NetlinkAttribute.nestedFlag : 0))
        var inner = AttributeWriter()
        try body(&inner)
        writer.append(inner.bytes)
        writer.patchU16(at: start, UInt16(writer.count - start))
        writer.pad()
    }
}
