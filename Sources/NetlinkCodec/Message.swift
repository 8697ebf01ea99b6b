/// A decoded netlink message: its header and the bytes after the header.
public struct NetlinkMessage: Equatable, Sendable {
    public var header: NetlinkHeader
    /// The bytes after the header, as a view into the datagram they were decoded from
    /// (attributes decoded from it share the same storage). Use `startIndex`.
    public var payloadSlice: ArraySlice<UInt8>
    /// The bytes after the header as their own array (a copy).
    public var payload: [UInt8] {
        get { Array(payloadSlice) }
        set { payloadSlice = newValue[...] }
    }

    public init(header: NetlinkHeader, payload: [UInt8]) {
        self.header = header
        self.payloadSlice = payload[...]
    }
    public init(header: NetlinkHeader, payloadSlice: ArraySlice<UInt8>) {
        self.header = header
        self.payloadSlice = payloadSlice
    }

    /// Builds a request: a family header (ifinfomsg, rtmsg, ...) followed by attributes.
    public init(type: UInt16, flags: NetlinkFlags, body: [UInt8], attributes: AttributeWriter = AttributeWriter()) {
        var payload = body
        let pad = netlinkAlign(payload.count) - payload.count
        payload.append(contentsOf: repeatElement(0, count: pad))
        payload.append(contentsOf: attributes.bytes)
        self.header = NetlinkHeader(length: UInt32(NetlinkHeader.size + payload.count), type: type, flags: flags)
        self.payloadSlice = payload[...]
    }

    /// Wire bytes with the given sequence number and port. Length is always recomputed.
    public func encode(sequence: UInt32, portID: UInt32 = 0) -> [UInt8] {
        var h = header
        h.length = UInt32(NetlinkHeader.size + payloadSlice.count)
        h.sequence = sequence
        h.portID = portID
        var w = ByteWriter()
        h.encode(into: &w)
        w.append(payloadSlice)
        return w.bytes
    }

    /// Attributes that follow a fixed family header of `fixedSize` bytes.
    public func attributes(after fixedSize: Int) throws -> [NetlinkAttribute] {
        let start = netlinkAlign(fixedSize)
        guard payloadSlice.count >= fixedSize else {
            throw DecodeError.truncated(what: "family header of message type \(header.type)", need: fixedSize, have: payloadSlice.count)
        }
        if start >= payloadSlice.count { return [] }
        return try NetlinkAttribute.decodeAll(payloadSlice[(payloadSlice.startIndex + start)...])
    }

    /// Splits one received datagram into messages. Hostile lengths throw, never trap.
    /// Messages and their attributes are views into one copy of `bytes` made here, so they
    /// do not pin (or force a copy-on-write of) the caller's reusable receive buffer.
    public static func decodeStream(_ bytes: ArraySlice<UInt8>) throws -> [NetlinkMessage] {
        let datagram = Array(bytes)
        var r = ByteReader(datagram)
        var out: [NetlinkMessage] = []
        while r.remaining > 0 {
            let start = r.offset
            let (header, payloadLength) = try nextHeader(&r)
            let payload = try r.take(payloadLength, "message payload")
            out.append(NetlinkMessage(header: header, payloadSlice: payload))
            r.skipPadding(after: r.offset - start)
        }
        return out
    }
    public static func decodeStream(_ bytes: [UInt8]) throws -> [NetlinkMessage] { try decodeStream(bytes[...]) }

    /// The next message's header and its payload's length, checked against what is left:
    /// the one place `decodeStream` and `validateStream` split a datagram.
    @inlinable
    static func nextHeader(_ r: inout ByteReader) throws -> (NetlinkHeader, Int) {
        let header = try NetlinkHeader.decode(&r)
        let length = Int(header.length)
        guard length >= NetlinkHeader.size else { throw DecodeError.badLength(what: "nlmsghdr", length: length) }
        guard length - NetlinkHeader.size <= r.remaining else {
            throw DecodeError.truncated(what: "message type \(header.type)", need: length - NetlinkHeader.size, have: r.remaining)
        }
        return (header, length - NetlinkHeader.size)
    }

    /// Checks that `bytes` splits into whole messages, with `decodeStream`'s checks and
    /// errors, building nothing: for readers that then walk the datagram in place.
    public static func validateStream(_ bytes: ArraySlice<UInt8>) throws {
        var r = ByteReader(bytes)
        while r.remaining > 0 {
            let start = r.offset
            let (_, payloadLength) = try nextHeader(&r)
            try r.skip(payloadLength, "message payload")
            r.skipPadding(after: r.offset - start)
        }
    }
}

/// NLMSG_ERROR payload: errno (0 = ACK), the request's header, and extended-ACK TLVs.
public struct NetlinkErrorMessage: Equatable, Sendable {
    /// Positive errno; 0 means success (an ACK).
    public var errno: Int32
    public var request: NetlinkHeader
    public var extAckMessage: String?
    public var extAckOffset: UInt32?
    public var missingAttribute: UInt32?

    // NLMSGERR_ATTR_*
    static let attrMessage: UInt16 = 1, attrOffset: UInt16 = 2, attrMissingType: UInt16 = 5

    public init(
        errno: Int32, request: NetlinkHeader, extAckMessage: String? = nil, extAckOffset: UInt32? = nil, missingAttribute: UInt32? = nil
    ) {
        self.errno = errno
        self.request = request
        self.extAckMessage = extAckMessage
        self.extAckOffset = extAckOffset
        self.missingAttribute = missingAttribute
    }

    public static func decode(_ message: NetlinkMessage) throws -> NetlinkErrorMessage {
        var r = ByteReader(message.payloadSlice)
        let err = try r.i32("nlmsgerr.error")
        // The kernel sends 0 or a negative errno; anything else is not from the kernel
        // (and negating Int32.min would trap).
        guard err <= 0, err > -4096 else { throw DecodeError.invalidValue(what: "nlmsgerr.error", value: Int64(err)) }
        let original = try NetlinkHeader.decode(&r)
        // Without NLM_F_CAPPED the kernel echoes the whole request after its header.
        if !message.header.flags.contains(.capped) {
            let echoed = max(0, Int(original.length) - NetlinkHeader.size)
            try r.skip(min(echoed, r.remaining), "echoed request")
            r.skipPadding(after: echoed)
        }
        var result = NetlinkErrorMessage(errno: -err, request: original)
        if message.header.flags.contains(.ackTLVs), r.remaining > 0 {
            let attrs = try NetlinkAttribute.decodeAll(message.payloadSlice[r.offset...])
            result.extAckMessage = attrs.first(attrMessage)?.string()
            result.extAckOffset = try attrs.first(attrOffset)?.u32()
            result.missingAttribute = try attrs.first(attrMissingType)?.u32()
        }
        return result
    }
}
