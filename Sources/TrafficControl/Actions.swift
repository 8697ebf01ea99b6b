import NetlinkCodec

/// What an action tells the classifier to do next (TC_ACT_*), with tc's names.
public enum ActionResult: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `pass`/`ok`: accept the packet, stop classifying.
    case ok
    /// `pipe`: go on with the next action.
    case pipe
    /// `stolen`: the action consumed the packet (what a redirect does).
    case stolen
    /// `drop`/`shot`.
    case drop
    case reclassify
    /// `continue`: TC_ACT_UNSPEC, try the next filter.
    case `continue`
    case trap
    case other(Int32)

    public var kernelValue: Int32 {
        switch self {
        case .ok: return TC_ACT.OK
        case .pipe: return TC_ACT.PIPE
        case .stolen: return TC_ACT.STOLEN
        case .drop: return TC_ACT.SHOT
        case .reclassify: return TC_ACT.RECLASSIFY
        case .continue: return TC_ACT.UNSPEC
        case .trap: return TC_ACT.TRAP
        case .other(let v): return v
        }
    }
    public init(kernelValue v: Int32) {
        switch v {
        case TC_ACT.OK: self = .ok
        case TC_ACT.PIPE: self = .pipe
        case TC_ACT.STOLEN: self = .stolen
        case TC_ACT.SHOT: self = .drop
        case TC_ACT.RECLASSIFY: self = .reclassify
        case TC_ACT.UNSPEC: self = .continue
        case TC_ACT.TRAP: self = .trap
        default: self = .other(v)
        }
    }
    /// As `tc -j` prints it in `control_action.type`.
    public var description: String {
        switch self {
        case .ok: return "pass"
        case .pipe: return "pipe"
        case .stolen: return "stolen"
        case .drop: return "drop"
        case .reclassify: return "reclassify"
        case .continue: return "continue"
        case .trap: return "trap"
        case .other(let v): return "\(v)"
        }
    }
    /// Accepts tc's spellings (`ok` and `pass`, `shot` and `drop`).
    public init?(name: String) {
        switch name {
        case "ok", "pass": self = .ok
        case "pipe": self = .pipe
        case "stolen": self = .stolen
        case "drop", "shot": self = .drop
        case "reclassify": self = .reclassify
        case "continue": self = .continue
        case "trap": self = .trap
        default: return nil
        }
    }
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        self = ActionResult(name: s) ?? .other(Int32(s) ?? TC_ACT.UNSPEC)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// `action mirred egress|ingress redirect|mirror dev DEV [RESULT]`.
public struct MirredAction: Sendable, Hashable, Codable {
    public enum Direction: String, Sendable, Codable { case egress, ingress }
    public enum Mode: String, Sendable, Codable { case redirect, mirror }
    public var direction: Direction
    public var mode: Mode
    public var targetIndex: Int32
    /// What happens after: tc's default is `stolen` for a redirect, `pipe` for a mirror.
    public var result: ActionResult

    public init(_ mode: Mode, _ direction: Direction = .egress, to targetIndex: Int32, result: ActionResult? = nil) {
        self.mode = mode
        self.direction = direction
        self.targetIndex = targetIndex
        self.result = result ?? (mode == .redirect ? .stolen : .pipe)
    }

    /// The TCA_EGRESS_REDIR ... value for struct tc_mirred.eaction.
    public var eaction: Int32 {
        switch (direction, mode) {
        case (.egress, .redirect): return TCA_MIRRED.EGRESS_REDIR
        case (.egress, .mirror): return TCA_MIRRED.EGRESS_MIRROR
        case (.ingress, .redirect): return TCA_MIRRED.INGRESS_REDIR
        case (.ingress, .mirror): return TCA_MIRRED.INGRESS_MIRROR
        }
    }
}

/// An action attached to a filter.
public enum TcAction: Sendable, Hashable, Codable {
    case mirred(MirredAction)
    /// act_gact: `action ok|pipe|drop|...`.
    case gact(ActionResult)
    /// A kind sandnet does not decode.
    case other(kind: String)

    public var kindName: String {
        switch self {
        case .mirred: return "mirred"
        case .gact: return "gact"
        case .other(let k): return k
        }
    }
}

/// An action as the kernel reports it inside a filter: `tc -j` `actions[]`.
public struct FilterAction: Sendable, Equatable, Codable {
    /// Position in the list, from 1 (`order`).
    public var order: UInt16
    public var action: TcAction
    public var index: UInt32
    public var references: Int32
    public var bindings: Int32
}

/// Encodes and decodes action lists (the TCA_U32_ACT / TCA_MATCHALL_ACT / TCA_FLOWER_ACT nest).
public enum ActionCodec {
    /// One nest per action, numbered from 1: the order the kernel runs them in.
    public static func encode(_ actions: [TcAction], into w: inout AttributeWriter) {
        for (i, action) in actions.enumerated() {
            w.nest(UInt16(i + 1)) { a in
                a.add(TCA_ACT.KIND, string: action.kindName)
                a.nest(TCA_ACT.OPTIONS, nestedFlag: true) { o in
                    switch action {
                    case .mirred(let m):
                        var p = ByteWriter() // struct tc_mirred: tc_gen then eaction, ifindex
                        p.u32(0)
                        p.u32(0)
                        p.i32(m.result.kernelValue)
                        p.i32(0)
                        p.i32(0)
                        p.i32(m.eaction)
                        p.u32(UInt32(bitPattern: m.targetIndex))
                        o.add(TCA_MIRRED.PARMS, p.bytes)
                    case .gact(let result):
                        var p = ByteWriter() // struct tc_gact: tc_gen only
                        p.u32(0)
                        p.u32(0)
                        p.i32(result.kernelValue)
                        p.i32(0)
                        p.i32(0)
                        o.add(TCA_GACT.PARMS, p.bytes)
                    case .other:
                        break
                    }
                }
            }
        }
    }

    public static func decode(_ list: NetlinkAttribute) throws -> [FilterAction] {
        try list.nested().map { entry in
            let attrs = try entry.nested()
            let kind = attrs.first(TCA_ACT.KIND)?.string() ?? ""
            let options = try attrs.first(TCA_ACT.OPTIONS)?.nested() ?? []
            var out = FilterAction(order: entry.type, action: .other(kind: kind), index: 0, references: 0, bindings: 0)
            let parms: NetlinkAttribute?
            switch kind {
            case "mirred": parms = options.first(TCA_MIRRED.PARMS)
            case "gact": parms = options.first(TCA_GACT.PARMS)
            default: parms = nil
            }
            guard let parms else { return out }
            var r = ByteReader(parms.payloadSlice) // struct tc_gen
            out.index = try r.u32("tc_gen.index")
            _ = try r.u32("tc_gen.capab")
            let result = ActionResult(kernelValue: try r.i32("tc_gen.action"))
            out.references = try r.i32("tc_gen.refcnt")
            out.bindings = try r.i32("tc_gen.bindcnt")
            if kind == "gact" {
                out.action = .gact(result)
                return out
            }
            let eaction = try r.i32("tc_mirred.eaction")
            let target = Int32(bitPattern: try r.u32("tc_mirred.ifindex"))
            let (mode, direction): (MirredAction.Mode, MirredAction.Direction)
            switch eaction {
            case TCA_MIRRED.EGRESS_MIRROR: (mode, direction) = (.mirror, .egress)
            case TCA_MIRRED.INGRESS_REDIR: (mode, direction) = (.redirect, .ingress)
            case TCA_MIRRED.INGRESS_MIRROR: (mode, direction) = (.mirror, .ingress)
            default: (mode, direction) = (.redirect, .egress)
            }
            out.action = .mirred(MirredAction(mode, direction, to: target, result: result))
            return out
        }
    }
}
