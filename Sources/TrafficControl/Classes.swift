import NetlinkCodec
import NetlinkSocket
import Rtnetlink

/// `tc class add dev DEV parent P classid C htb rate R [ceil C] [burst B] [cburst CB] [prio N] [quantum Q]`.
/// Rates are in bits per second, as tc takes them; bursts in bytes.
public struct HtbClassSpec: Sendable, Equatable {
    public var device: LinkReference
    public var parent: TcHandle
    public var classID: TcHandle
    public var rate: UInt64
    public var ceil: UInt64
    public var burst: UInt32
    public var cburst: UInt32
    public var priority: UInt32
    public var quantum: UInt32

    /// tc's default burst when /proc/net/psched reports a 1 GHz clock: one 1600-byte frame.
    public static let defaultBurst: UInt32 = 1600

    public init(
        device: LinkReference, parent: TcHandle, classID: TcHandle, rate: UInt64, ceil: UInt64? = nil,
        burst: UInt32 = HtbClassSpec.defaultBurst, cburst: UInt32 = HtbClassSpec.defaultBurst, priority: UInt32 = 0, quantum: UInt32 = 0
    ) {
        self.device = device
        self.parent = parent
        self.classID = classID
        self.rate = rate
        self.ceil = ceil ?? rate
        self.burst = burst
        self.cburst = cburst
        self.priority = priority
        self.quantum = quantum
    }
}

/// A class as the kernel reports it (RTM_NEWTCLASS).
public struct TrafficClass: Sendable, Equatable, Codable {
    public var index: Int32
    public var kind: String
    public var classID: TcHandle
    public var parent: TcHandle
    /// tcm_info: the handle of the class's leaf qdisc, if any.
    public var leaf: TcHandle
    public var htb: HtbClassInfo?
}

/// htb class parameters, rates in bytes per second as the kernel keeps them.
public struct HtbClassInfo: Sendable, Equatable, Codable {
    public var rateBytesPerSecond: UInt64
    public var ceilBytesPerSecond: UInt64
    /// Burst and cburst as psched ticks (`buffer`/`cbuffer` in struct tc_htb_opt).
    public var bufferTicks: UInt32
    public var cbufferTicks: UInt32
    public var quantum: UInt32
    public var level: UInt32
    public var priority: UInt32
    /// Saturate: the kernel's 64-bit rates (TCA_HTB_RATE64) can hold values whose bits overflow.
    public var rateBits: UInt64 {
        let (b, o) = rateBytesPerSecond.multipliedReportingOverflow(by: 8)
        return o ? .max : b
    }
    public var ceilBits: UInt64 {
        let (b, o) = ceilBytesPerSecond.multipliedReportingOverflow(by: 8)
        return o ? .max : b
    }
    /// The burst in bytes, converted back the way tc prints it.
    public var burstBytes: UInt64 { HtbTicks.bytes(ticks: bufferTicks, bytesPerSecond: rateBytesPerSecond) }
    public var cburstBytes: UInt64 { HtbTicks.bytes(ticks: cbufferTicks, bytesPerSecond: ceilBytesPerSecond) }
}

/// The kernel measures htb buffers in psched ticks of 64 ns (PSCHED_SHIFT = 6).
public enum HtbTicks {
    public static let nanosecondsPerTick: UInt64 = 64
    public static func ticks(bytes: UInt32, bytesPerSecond: UInt64) -> UInt32 {
        guard bytesPerSecond > 0 else { return 0 }
        return UInt32(clamping: UInt64(bytes) * 1_000_000_000 / bytesPerSecond / nanosecondsPerTick)
    }
    /// ticks × 64 ns × rate passes 2^64 for a large buffer at a high rate: computed in 128 bits,
    /// saturating at UInt64.max.
    public static func bytes(ticks: UInt32, bytesPerSecond: UInt64) -> UInt64 {
        let product = (UInt64(ticks) * nanosecondsPerTick).multipliedFullWidth(by: bytesPerSecond) // < 2^102
        let (low, carry) = product.low.addingReportingOverflow(500_000_000)
        let high = product.high + (carry ? 1 : 0)
        guard high < 1_000_000_000 else { return .max } // the quotient would not fit in 64 bits
        return UInt64(1_000_000_000).dividingFullWidth((high: high, low: low)).quotient
    }
}

extension TrafficClass {
    public static func decode(_ message: NetlinkMessage) throws -> TrafficClass {
        let (h, attrs) = try TcMessageHeader.decode(message)
        var c = TrafficClass(
            index: h.index, kind: attrs.first(TCA.KIND)?.string() ?? "", classID: TcHandle(rawValue: h.handle),
            parent: TcHandle(rawValue: h.parent), leaf: TcHandle(rawValue: h.info))
        if c.kind == "htb", let o = try attrs.first(TCA.OPTIONS)?.nested(), let parms = o.first(TCA_HTB.PARMS) {
            var r = ByteReader(parms.payloadSlice) // struct tc_htb_opt: rate, ceil (tc_ratespec), buffer, cbuffer, quantum, level, prio
            func ratespec() throws -> UInt32 {
                try r.skip(8, "tc_ratespec head")
                return try r.u32("tc_ratespec.rate")
            }
            let rate = try ratespec()
            let ceil = try ratespec()
            var info = HtbClassInfo(
                rateBytesPerSecond: UInt64(rate), ceilBytesPerSecond: UInt64(ceil),
                bufferTicks: try r.u32("tc_htb_opt.buffer"), cbufferTicks: try r.u32("tc_htb_opt.cbuffer"),
                quantum: try r.u32("tc_htb_opt.quantum"), level: try r.u32("tc_htb_opt.level"),
                priority: try r.u32("tc_htb_opt.prio"))
            if let r64 = try o.first(TCA_HTB.RATE64)?.u64() { info.rateBytesPerSecond = r64 }
            if let c64 = try o.first(TCA_HTB.CEIL64)?.u64() { info.ceilBytesPerSecond = c64 }
            c.htb = info
        }
        return c
    }
}

extension Rtnetlink {
    /// `tc -d class show dev DEV`
    public func classes(device: LinkReference) throws -> [TrafficClass] {
        let op = "list classes"
        let h = TcMessageHeader(index: try index(of: device))
        let req = NetlinkMessage(type: RTM.GETTCLASS, flags: .dump, body: h.bytes)
        return try decodeTc(try dump(req, operation: op, object: "dev \(device)"), type: RTM.NEWTCLASS, operation: op, TrafficClass.decode)
    }

    /// `tc class add dev DEV parent P classid C htb rate R ceil C`
    public func htbClassAdd(_ spec: HtbClassSpec) throws {
        let request = Self.htbClassAddRequest(spec, index: try index(of: spec.device))
        try execute(request, operation: "add class", object: "htb \(spec.classID) dev \(spec.device)")
    }

    /// `tc class del dev DEV classid C`
    public func classDelete(device: LinkReference, classID: TcHandle) throws {
        let h = TcMessageHeader(index: try index(of: device), handle: classID.rawValue)
        try execute(
            NetlinkMessage(type: RTM.DELTCLASS, flags: [], body: h.bytes), operation: "delete class", object: "\(classID) dev \(device)")
    }

    /// RTM_NEWTCLASS for an htb class. Unlike tc it sends no rate tables: with linklayer
    /// ethernet the kernel computes transmit times itself.
    public static func htbClassAddRequest(_ spec: HtbClassSpec, index: Int32) -> NetlinkMessage {
        let rateBytes = spec.rate / 8
        let ceilBytes = spec.ceil / 8
        var a = AttributeWriter()
        a.add(TCA.KIND, string: "htb")
        a.nest(TCA.OPTIONS) { o in
            var p = ByteWriter()
            func ratespec(_ bytesPerSecond: UInt64) { // struct tc_ratespec
                p.u8(0)
                p.u8(TC_LINKLAYER.ETHERNET)
                p.u16(0)
                p.u16(0xffff)
                p.u16(0) // cell_log linklayer overhead cell_align(-1) mpu
                p.u32(UInt32(clamping: bytesPerSecond))
            }
            ratespec(rateBytes)
            ratespec(ceilBytes)
            p.u32(HtbTicks.ticks(bytes: spec.burst, bytesPerSecond: rateBytes))
            p.u32(HtbTicks.ticks(bytes: spec.cburst, bytesPerSecond: ceilBytes))
            p.u32(spec.quantum)
            p.u32(0)
            p.u32(spec.priority)
            o.add(TCA_HTB.PARMS, p.bytes)
            if rateBytes > UInt64(UInt32.max) { o.add(TCA_HTB.RATE64, u64: rateBytes) }
            if ceilBytes > UInt64(UInt32.max) { o.add(TCA_HTB.CEIL64, u64: ceilBytes) }
        }
        let h = TcMessageHeader(index: index, handle: spec.classID.rawValue, parent: spec.parent.rawValue)
        return NetlinkMessage(type: RTM.NEWTCLASS, flags: [.create, .exclusive], body: h.bytes, attributes: a)
    }
}
