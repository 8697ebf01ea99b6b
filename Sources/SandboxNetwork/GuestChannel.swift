import Foundation
import QemuWiring
import SandnetCore

/// A change to a running guest's network, sent over the guest channel (docs/guest-channel.md):
/// a hotplugged NIC to configure, or one about to be unplugged to let go of.
public enum GuestChange: Equatable, Sendable {
    /// Configure the NIC with `interface.mac` as `interface` says (the guest description's type).
    case addInterface(GuestInterface)
    /// Deconfigure the NIC called `name` with MAC `mac` (it is about to be unplugged).
    case removeInterface(name: String, mac: MACAddress)

    /// The `op` on the wire.
    public var op: String {
        switch self {
        case .addInterface: return "add-interface"
        case .removeInterface: return "remove-interface"
        }
    }

    /// The interface's name in the guest.
    public var interfaceName: String {
        switch self {
        case .addInterface(let i): return i.name
        case .removeInterface(let name, _): return name
        }
    }
}

/// One host-to-guest line: a change and the sequence number its acknowledgement repeats.
public struct GuestChangeMessage: Equatable, Sendable {
    public var seq: UInt64
    public var change: GuestChange
    public init(seq: UInt64, change: GuestChange) {
        self.seq = seq
        self.change = change
    }
}

/// A guest's answer to change `seq`: applied, or refused with the guest's reason.
public struct GuestAck: Equatable, Sendable {
    public var seq: UInt64
    /// Nil when the guest applied the change; its reason when it could not.
    public var error: String?
    public init(seq: UInt64, error: String? = nil) {
        self.seq = seq
        self.error = error
    }
    public var succeeded: Bool { error == nil }
}

/// One guest-to-host line.
public enum GuestChannelReply: Equatable, Sendable {
    /// The guest opened its port and reads changes of `version`.
    case hello(version: Int)
    case ack(GuestAck)
}

/// The guest channel's lines: compact JSON, sorted keys, slashes unescaped, one object per
/// line. Pure; shared by sandnet (host side) and the tests that play the guest.
public enum GuestChannelCodec {
    public static let version = 1
    /// The virtio-serial port name the guest looks for.
    public static let portName = GuestChannelDevice.portName

    private struct Wire: Codable {
        var version: Int
        var op: String
        var seq: UInt64?
        var interface: GuestInterface?
        var name: String?
        var mac: MACAddress?
        var status: String?
        var error: String?
    }

    private static func line(_ w: Wire) -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every field is a string, number or one of the guest description's own Codable values.
        return ((try? e.encode(w)) ?? Data()) + Data("\n".utf8)
    }

    public static func encode(_ m: GuestChangeMessage) -> Data {
        switch m.change {
        case .addInterface(let i): return line(Wire(version: version, op: m.change.op, seq: m.seq, interface: i))
        case .removeInterface(let name, let mac): return line(Wire(version: version, op: m.change.op, seq: m.seq, name: name, mac: mac))
        }
    }

    public static func encode(_ r: GuestChannelReply) -> Data {
        switch r {
        case .hello(let v): return line(Wire(version: v, op: "hello"))
        case .ack(let a):
            return line(Wire(version: version, op: "ack", seq: a.seq, status: a.error == nil ? "ok" : "error", error: a.error))
        }
    }

    public static func decodeChange(_ line: Data) throws(GuestChannelError) -> GuestChangeMessage {
        let w = try wire(line)
        guard let seq = w.seq else { throw .malformed(reason: "\(w.op) without seq", line: shown(line)) }
        switch w.op {
        case "add-interface":
            guard let i = w.interface else { throw .malformed(reason: "add-interface without interface", line: shown(line)) }
            return GuestChangeMessage(seq: seq, change: .addInterface(i))
        case "remove-interface":
            guard let name = w.name, let mac = w.mac else {
                throw .malformed(reason: "remove-interface without name and mac", line: shown(line))
            }
            return GuestChangeMessage(seq: seq, change: .removeInterface(name: name, mac: mac))
        default:
            throw .malformed(reason: "unknown op \(w.op)", line: shown(line))
        }
    }

    public static func decodeReply(_ line: Data) throws(GuestChannelError) -> GuestChannelReply {
        let w = try wire(line)
        switch w.op {
        case "hello": return .hello(version: w.version)
        case "ack":
            guard let seq = w.seq else { throw .malformed(reason: "ack without seq", line: shown(line)) }
            switch w.status {
            case "ok": return .ack(GuestAck(seq: seq))
            case "error": return .ack(GuestAck(seq: seq, error: w.error ?? "no reason given"))
            default: throw .malformed(reason: "ack status is neither ok nor error", line: shown(line))
            }
        default: throw .malformed(reason: "unknown op \(w.op)", line: shown(line))
        }
    }

    private static func wire(_ line: Data) throws(GuestChannelError) -> Wire {
        struct Version: Decodable { var version: Int }
        let v: Int
        do { v = try JSONDecoder().decode(Version.self, from: line).version } catch {
            throw .malformed(reason: "not a JSON object with a version", line: shown(line))
        }
        guard v == version else { throw .unsupportedVersion(v) }
        do { return try JSONDecoder().decode(Wire.self, from: line) } catch {
            throw .malformed(reason: "fields of the wrong type", line: shown(line))
        }
    }

    static func shown(_ line: Data) -> String { String(decoding: line.prefix(200), as: UTF8.self) }
}
