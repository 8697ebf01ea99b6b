// Walking attributes in place. `NetlinkAttribute.decodeAll` builds an array per message and
// per nest, and every element holds (retains) the datagram; a 500-link scan spent much of its
// user time there. A cursor reads the same bytes once, allocates nothing, and applies the
// same checks with the same errors.

/// One attribute as a cursor sees it: its type and a view of its payload in the bytes being
/// decoded. Valid only while those bytes are (inside the `withAttributes` closure that
/// produced it); copy out what must outlive it.
@frozen public struct RawAttribute {
    /// Type with the NESTED/NET_BYTEORDER bits removed.
    public let type: UInt16
    public let isNested: Bool
    public let isNetworkByteOrder: Bool
    public let payload: UnsafeRawBufferPointer

    @inlinable init(rawType: UInt16, payload: UnsafeRawBufferPointer) {
        self.type = rawType & NetlinkAttribute.typeMask
        self.isNested = rawType & NetlinkAttribute.nestedFlag != 0
        self.isNetworkByteOrder = rawType & NetlinkAttribute.byteOrderFlag != 0
        self.payload = payload
    }

    // MARK: payload readers (all bounds-checked, the same errors as NetlinkAttribute's)

    @inlinable public func u8() throws -> UInt8 {
        try require(1)
        return payload[0]
    }
    @inlinable public func u16() throws -> UInt16 {
        try require(2)
        return UInt16(littleEndian: payload.loadUnaligned(as: UInt16.self))
    }
    @inlinable public func u32() throws -> UInt32 {
        try require(4)
        return UInt32(littleEndian: payload.loadUnaligned(as: UInt32.self))
    }
    @inlinable public func i32() throws -> Int32 { Int32(bitPattern: try u32()) }
    @inlinable public func u64() throws -> UInt64 {
        try require(8)
        return UInt64(littleEndian: payload.loadUnaligned(as: UInt64.self))
    }
    /// Big-endian u16 (ports).
    @inlinable public func be16() throws -> UInt16 { UInt16(bigEndian: try u16()) }
    /// Big-endian u32.
    @inlinable public func be32() throws -> UInt32 { UInt32(bigEndian: try u32()) }
    @inlinable func require(_ n: Int) throws {
        if payload.count < n { throw tooShort(n) }
    }
    // Out of line: the error text is built only when there is an error.
    @usableFromInline func tooShort(_ n: Int) -> DecodeError {
        DecodeError.truncated(what: "attribute \(type) (\(n * 8)-bit value)", need: n, have: payload.count)
    }
    /// NUL-terminated string; a missing terminator is accepted.
    @inlinable public func string() -> String {
        payload.withMemoryRebound(to: UInt8.self) { b in
            String(decoding: UnsafeBufferPointer(rebasing: b[..<(b.firstIndex(of: 0) ?? b.endIndex)]), as: UTF8.self)
        }
    }
    /// A cursor over the children of a nested attribute (the same bytes, no copy), checked
    /// whole as `NetlinkAttribute.nested()` checks them.
    @inlinable public func nested() throws -> AttributeCursor { try AttributeCursor(payload).checked() }
    /// The attribute as a NetlinkAttribute value (its payload copied).
    public var attribute: NetlinkAttribute {
        var a = NetlinkAttribute(type: type, payload: Array(payload), nested: isNested)
        a.isNetworkByteOrder = isNetworkByteOrder
        return a
    }
}

/// Reads a run of attributes that fills its bytes exactly (modulo final padding), one at a
/// time, with `NetlinkAttribute.decodeAll`'s checks: a bad length or a cut payload throws,
/// and so do fewer than 4 trailing bytes that are not zero padding.
@frozen public struct AttributeCursor {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline var offset = 0

    @inlinable public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The next attribute, or nil at the end of the run.
    @inlinable public mutating func next() throws -> RawAttribute? {
        let remaining = bytes.count - offset
        if remaining < 4 {
            // Fewer than 4 trailing bytes can only be padding; anything else is garbage.
            if remaining > 0 && bytes[offset...].contains(where: { $0 != 0 }) { throw Self.trailingGarbage(remaining) }
            offset = bytes.count
            return nil
        }
        let length = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        let rawType = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 2, as: UInt16.self))
        guard length >= 4 else { throw Self.badLength(length) }
        let available = remaining - 4
        guard length - 4 <= available else { throw Self.cutPayload(rawType, need: length - 4, have: available) }
        let start = offset + 4
        let payload = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length - 4)])
        // Skip the alignment padding if present; a final unpadded attribute is tolerated.
        offset = min(offset + netlinkAlign(length), bytes.count)
        return RawAttribute(rawType: rawType, payload: payload)
    }

    // Out of line: the error text is built only when there is an error.
    @usableFromInline static func trailingGarbage(_ remaining: Int) -> DecodeError {
        DecodeError.truncated(what: "nlattr header", need: 4, have: remaining)
    }
    @usableFromInline static func badLength(_ length: Int) -> DecodeError { DecodeError.badLength(what: "nlattr", length: length) }
    @usableFromInline static func cutPayload(_ rawType: UInt16, need: Int, have: Int) -> DecodeError {
        DecodeError.truncated(what: "nlattr payload (type \(rawType & NetlinkAttribute.typeMask))", need: need, have: have)
    }

    /// The same cursor, after checking the whole run: a bad length anywhere throws here,
    /// before any attribute is used, as `decodeAll` throws before returning any.
    @inlinable public func checked() throws -> AttributeCursor {
        // Lengths only, no attribute values built: the same checks as `next()`, in a tight loop.
        var o = offset
        let n = bytes.count
        while n - o >= 4 {
            let length = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
            guard length >= 4 else { throw Self.badLength(length) }
            guard length - 4 <= n - o - 4 else {
                let rawType = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: o + 2, as: UInt16.self))
                throw Self.cutPayload(rawType, need: length - 4, have: n - o - 4)
            }
            o = min(o + netlinkAlign(length), n)
        }
        if n - o > 0 && bytes[o...].contains(where: { $0 != 0 }) { throw Self.trailingGarbage(n - o) }
        return self
    }
}

extension NetlinkMessage {
    /// Decodes the fixed family header `H` and walks the attributes after it in place.
    /// The same checks and errors, in the same order, as `H.decode(self)` (the run is
    /// checked whole before `body` sees any of it), without building an attribute array.
    @inlinable public func withAttributes<H: FamilyHeader, R>(
        after header: H.Type, _ body: (H, inout AttributeCursor) throws -> R
    ) throws -> R {
        var r = ByteReader(payloadSlice)
        if r.remaining < H.size { throw Self.shortFamilyHeader(H.self, have: r.remaining) }
        let h = try H.decode(&r)
        return try payloadSlice.withUnsafeBytes { raw in
            let start = netlinkAlign(H.size)
            let attributes =
                start >= raw.count ? UnsafeRawBufferPointer(start: nil, count: 0) : UnsafeRawBufferPointer(rebasing: raw[start...])
            var cursor = try AttributeCursor(attributes).checked()
            return try body(h, &cursor)
        }
    }
}

extension NetlinkMessage {
    @usableFromInline static func shortFamilyHeader<H: FamilyHeader>(_: H.Type, have: Int) -> DecodeError {
        DecodeError.truncated(what: "\(H.self)", need: H.size, have: have)
    }
}
