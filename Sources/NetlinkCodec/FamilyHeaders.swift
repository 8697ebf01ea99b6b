// Fixed headers that precede attributes in rtnetlink messages. Field names follow the
// kernel structs so they can be grepped in <linux/rtnetlink.h> and friends.

public protocol FamilyHeader: Equatable, Sendable {
    static var size: Int { get }
    func encode(into w: inout ByteWriter)
    static func decode(_ r: inout ByteReader) throws -> Self
}

extension FamilyHeader {
    public var bytes: [UInt8] {
        var w = ByteWriter()
        encode(into: &w)
        return w.bytes
    }
    public static func decode(_ message: NetlinkMessage) throws -> (Self, [NetlinkAttribute]) {
        var r = ByteReader(message.payloadSlice)
        try r.require(size, "\(Self.self)")
        let h = try decode(&r)
        return (h, try message.attributes(after: size))
    }
}

/// struct ifinfomsg
public struct IfInfoMessage: FamilyHeader {
    public static let size = 16
    public var family: UInt8 = 0
    public var type: UInt16 = 0 // ARPHRD_*
    public var index: Int32 = 0
    public var flags: UInt32 = 0 // IFF_*
    public var change: UInt32 = 0
    public init(family: UInt8 = 0, type: UInt16 = 0, index: Int32 = 0, flags: UInt32 = 0, change: UInt32 = 0) {
        self.family = family
        self.type = type
        self.index = index
        self.flags = flags
        self.change = change
    }
    public func encode(into w: inout ByteWriter) {
        w.u8(family)
        w.u8(0)
        w.u16(type)
        w.i32(index)
        w.u32(flags)
        w.u32(change)
    }
    @inlinable public static func decode(_ r: inout ByteReader) throws -> IfInfoMessage {
        let f = try r.u8()
        _ = try r.u8()
        return IfInfoMessage(family: f, type: try r.u16(), index: try r.i32(), flags: try r.u32(), change: try r.u32())
    }
}

/// struct ifaddrmsg
public struct IfAddrMessage: FamilyHeader {
    public static let size = 8
    public var family: UInt8, prefixLength: UInt8, flags: UInt8, scope: UInt8, index: UInt32
    public init(family: UInt8 = 0, prefixLength: UInt8 = 0, flags: UInt8 = 0, scope: UInt8 = 0, index: UInt32 = 0) {
        self.family = family
        self.prefixLength = prefixLength
        self.flags = flags
        self.scope = scope
        self.index = index
    }
    public func encode(into w: inout ByteWriter) {
        w.u8(family)
        w.u8(prefixLength)
        w.u8(flags)
        w.u8(scope)
        w.u32(index)
    }
    @inlinable public static func decode(_ r: inout ByteReader) throws -> IfAddrMessage {
        IfAddrMessage(family: try r.u8(), prefixLength: try r.u8(), flags: try r.u8(), scope: try r.u8(), index: try r.u32())
    }
}

/// struct rtmsg
public struct RouteMessageHeader: FamilyHeader {
    public static let size = 12
    public var family: UInt8 = 0, destinationLength: UInt8 = 0, sourceLength: UInt8 = 0, tos: UInt8 = 0
    public var table: UInt8 = 0, protocolID: UInt8 = 0, scope: UInt8 = 0, type: UInt8 = 0
    public var flags: UInt32 = 0
    public init(
        family: UInt8 = 0, destinationLength: UInt8 = 0, sourceLength: UInt8 = 0, tos: UInt8 = 0, table: UInt8 = 0,
        protocolID: UInt8 = 0, scope: UInt8 = 0, type: UInt8 = 0, flags: UInt32 = 0
    ) {
        self.family = family
        self.destinationLength = destinationLength
        self.sourceLength = sourceLength
        self.tos = tos
        self.table = table
        self.protocolID = protocolID
        self.scope = scope
        self.type = type
        self.flags = flags
    }
    public func encode(into w: inout ByteWriter) {
        w.u8(family)
        w.u8(destinationLength)
        w.u8(sourceLength)
        w.u8(tos)
        w.u8(table)
        w.u8(protocolID)
        w.u8(scope)
        w.u8(type)
        w.u32(flags)
    }
    @inlinable public static func decode(_ r: inout ByteReader) throws -> RouteMessageHeader {
        RouteMessageHeader(
            family: try r.u8(), destinationLength: try r.u8(), sourceLength: try r.u8(), tos: try r.u8(),
            table: try r.u8(), protocolID: try r.u8(), scope: try r.u8(), type: try r.u8(), flags: try r.u32())
    }
}

/// struct ndmsg
public struct NeighbourMessageHeader: FamilyHeader {
    public static let size = 12
    public var family: UInt8 = 0, index: Int32 = 0, state: UInt16 = 0, flags: UInt8 = 0, type: UInt8 = 0
    public init(family: UInt8 = 0, index: Int32 = 0, state: UInt16 = 0, flags: UInt8 = 0, type: UInt8 = 0) {
        self.family = family
        self.index = index
        self.state = state
        self.flags = flags
        self.type = type
    }
    public func encode(into w: inout ByteWriter) {
        w.u8(family)
        w.u8(0)
        w.u16(0)
        w.i32(index)
        w.u16(state)
        w.u8(flags)
        w.u8(type)
    }
    @inlinable public static func decode(_ r: inout ByteReader) throws -> NeighbourMessageHeader {
        let f = try r.u8()
        _ = try r.u8()
        _ = try r.u16()
        return NeighbourMessageHeader(family: f, index: try r.i32(), state: try r.u16(), flags: try r.u8(), type: try r.u8())
    }
}

/// struct tcmsg
public struct TcMessageHeader: FamilyHeader {
    public static let size = 20
    public var family: UInt8 = 0, index: Int32 = 0, handle: UInt32 = 0, parent: UInt32 = 0, info: UInt32 = 0
    public init(family: UInt8 = 0, index: Int32 = 0, handle: UInt32 = 0, parent: UInt32 = 0, info: UInt32 = 0) {
        self.family = family
        self.index = index
        self.handle = handle
        self.parent = parent
        self.info = info
    }
    public func encode(into w: inout ByteWriter) {
        w.u8(family)
        w.u8(0)
        w.u16(0)
        w.i32(index)
        w.u32(handle)
        w.u32(parent)
        w.u32(info)
    }
    public static func decode(_ r: inout ByteReader) throws -> TcMessageHeader {
        let f = try r.u8()
        _ = try r.u8()
        _ = try r.u16()
        return TcMessageHeader(family: f, index: try r.i32(), handle: try r.u32(), parent: try r.u32(), info: try r.u32())
    }
}
