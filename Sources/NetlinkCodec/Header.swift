/// struct nlmsghdr (16 bytes).
public struct NetlinkHeader: Equatable, Sendable {
    public static let size = 16
    public var length: UInt32
    public var type: UInt16
    public var flags: NetlinkFlags
    public var sequence: UInt32
    public var portID: UInt32

    public init(length: UInt32 = 0, type: UInt16, flags: NetlinkFlags, sequence: UInt32 = 0, portID: UInt32 = 0) {
        self.length = length
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
    }

    public func encode(into w: inout ByteWriter) {
        w.u32(length)
        w.u16(type)
        w.u16(flags.rawValue)
        w.u32(sequence)
        w.u32(portID)
    }
    @inlinable public static func decode(_ r: inout ByteReader) throws -> NetlinkHeader {
        try r.require(size, "nlmsghdr")
        return NetlinkHeader(
            length: try r.u32(), type: try r.u16(), flags: NetlinkFlags(rawValue: try r.u16()),
            sequence: try r.u32(), portID: try r.u32())
    }
}

/// NLM_F_* flags. The GET/NEW variants share bits, as in the kernel header.
public struct NetlinkFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let request = NetlinkFlags(rawValue: 0x01) // NLM_F_REQUEST
    public static let multi = NetlinkFlags(rawValue: 0x02) // NLM_F_MULTI
    public static let ack = NetlinkFlags(rawValue: 0x04) // NLM_F_ACK
    public static let echo = NetlinkFlags(rawValue: 0x08) // NLM_F_ECHO
    public static let dumpInterrupted = NetlinkFlags(rawValue: 0x10) // NLM_F_DUMP_INTR
    public static let dumpFiltered = NetlinkFlags(rawValue: 0x20) // NLM_F_DUMP_FILTERED
    // GET requests
    public static let root = NetlinkFlags(rawValue: 0x100) // NLM_F_ROOT
    public static let match = NetlinkFlags(rawValue: 0x200) // NLM_F_MATCH
    public static let dump: NetlinkFlags = [.root, .match] // NLM_F_DUMP
    // NEW requests
    public static let replace = NetlinkFlags(rawValue: 0x100) // NLM_F_REPLACE
    public static let exclusive = NetlinkFlags(rawValue: 0x200) // NLM_F_EXCL
    public static let create = NetlinkFlags(rawValue: 0x400) // NLM_F_CREATE
    public static let append = NetlinkFlags(rawValue: 0x800) // NLM_F_APPEND
    // ACK messages
    public static let capped = NetlinkFlags(rawValue: 0x100) // NLM_F_CAPPED
    public static let ackTLVs = NetlinkFlags(rawValue: 0x200) // NLM_F_ACK_TLVS
}

/// Control message types shared by every family.
public enum NetlinkMessageType {
    public static let noop: UInt16 = 1 // NLMSG_NOOP
    public static let error: UInt16 = 2 // NLMSG_ERROR
    public static let done: UInt16 = 3 // NLMSG_DONE
    public static let overrun: UInt16 = 4 // NLMSG_OVERRUN
}
