import Foundation
import Qmp

/// Sends one change at a time to the guest over QEMU's chardev socket for the guest
/// channel's virtio-serial port, and waits (bounded) for the guest's acknowledgement.
/// Each send connects anew, so a QEMU restart or an earlier timeout leaves nothing stale;
/// sequence numbers are random, so an old acknowledgement still queued is never taken
/// for a new one. If the guest has not opened its port yet, QEMU holds the line until it does.
public struct GuestChannelSender: Sendable {
    public let path: String
    /// The guest is not trusted: its lines are short acks, so a longer one is refused, not buffered.
    public static let maximumGuestLineLength = 64 << 10
    public init(path: String) { self.path = path }

    /// Sends `change` and returns the guest's acknowledgement; throws `.guestRefused` with
    /// the guest's reason when it could not apply it, `.timedOut` when it did not answer.
    @discardableResult
    public func send(_ change: GuestChange, timeout: Duration = .seconds(30)) throws(GuestChannelError) -> GuestAck {
        let seq = UInt64.random(in: 1...(1 << 53))
        let op = change.op
        let name = change.interfaceName
        var socket: UnixLineSocket
        do { socket = try UnixLineSocket(connectingTo: path, maximumLineLength: Self.maximumGuestLineLength) } catch {
            if case .system(_, let e) = error { throw .cannotConnect(path: path, errno: e) }
            throw .cannotConnect(path: path, errno: 0)
        }
        let deadline = ContinuousClock.now + timeout
        do {
            try socket.send(GuestChannelCodec.encode(GuestChangeMessage(seq: seq, change: change)))
            while true {
                let line = try socket.readLine(until: deadline)
                // A hello, an old acknowledgement, or a line from an older agent: not ours.
                guard case .ack(let ack) = try? GuestChannelCodec.decodeReply(line), ack.seq == seq else { continue }
                if let reason = ack.error { throw GuestChannelError.guestRefused(op: op, interface: name, reason: reason) }
                return ack
            }
        } catch let e as GuestChannelError {
            throw e
        } catch let f as UnixLineSocket.Failure {
            switch f {
            case .timedOut:
                throw .timedOut(path: path, op: op, interface: name, seconds: Double(timeout.components.seconds))
            case .closedByPeer: throw .channelClosed(path: path, op: op, interface: name)
            case .system(let operation, let e): throw .system(operation: operation, path: path, errno: e)
            case .badLine(let d): throw .malformed(reason: d.reason, line: d.line)
            }
        } catch {
            throw .malformed(reason: "\(error)", line: "")
        }
    }
}
