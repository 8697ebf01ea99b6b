import Foundation
import NetlinkCodec
import NetlinkSocket

/// Typed rtnetlink operations in one network namespace. Opens NETLINK_ROUTE and nothing
/// else: link, address, route, neighbour and tc requests all travel over it.
///
/// Operations are named after iproute2 verbs; each carries the `ip ...` it mirrors.
public final class Rtnetlink: Sendable {
    public let handle: NetlinkHandle
    public var namespace: NetworkNamespace? { handle.namespace }

    /// Opens a NETLINK_ROUTE socket in `namespace` (nil: the caller's namespace).
    /// `warnings` receives the kernel's extended-ACK text on requests it carried out.
    public init(namespace: NetworkNamespace? = nil, warnings: KernelWarningHandler? = nil) throws {
        handle = try NetlinkHandle(namespace: namespace, families: [.route], warnings: warnings)
    }

    public func close() { handle.close() }

    /// Sends a request the typed operations do not cover and waits for the kernel's ACK.
    /// Errors name it by its message type.
    @discardableResult
    public func execute(_ message: NetlinkMessage) throws -> [NetlinkMessage] {
        try handle.withSocket(.route) { try $0.execute(message) }
    }

    /// Runs a dump the typed operations do not cover and returns every reply message.
    public func dump(_ message: NetlinkMessage) throws -> [NetlinkMessage] {
        try handle.withSocket(.route) { try $0.dump(message) }
    }

    /// Sends `requests` in one datagram and returns one outcome per request, in order (see
    /// `NetlinkSocket.executeBatch`): the kernel goes on after a refusal, so batch only
    /// requests that are safe whatever became of the ones before them.
    public func executeBatch(_ requests: [NetlinkRequest]) throws -> [Result<[NetlinkMessage], NetlinkError>] {
        try handle.withSocket(.route) { try $0.executeBatch(requests) }
    }

    // Package-only: `operation` and `object` are how the typed operations name themselves in errors.

    @discardableResult
    package func execute(_ message: NetlinkMessage, operation: String, object: String? = nil) throws -> [NetlinkMessage] {
        try handle.withSocket(.route) { try $0.execute(message, operation: operation, object: object) }
    }

    package func dump(_ message: NetlinkMessage, operation: String, object: String? = nil) throws -> [NetlinkMessage] {
        try handle.withSocket(.route) { try $0.dump(message, operation: operation, object: object) }
    }

    /// Runs a dump and decodes its replies of `type` while each is in the socket's receive
    /// buffer (no datagram copy, no message array); nil results are left out. A codec
    /// failure becomes a typed error naming the operation, thrown once the dump is over so
    /// the socket is left clean, as when the replies were decoded after it.
    func dumpDecoding<T: Sendable>(
        _ request: NetlinkMessage, type: UInt16, operation: String, _ decode: (NetlinkMessage) throws -> T?
    ) throws -> [T] {
        try handle.withSocket(.route) { socket in
            var decoded: [T] = []
            var failure: (any Error)?
            try socket.dump(
                request, operation: operation,
                restart: {
                    decoded.removeAll(keepingCapacity: true)
                    failure = nil
                },
                each: { m in
                    guard m.header.type == type, failure == nil else { return }
                    do { if let v = try decode(m) { decoded.append(v) } } catch let d as DecodeError {
                        failure = NetlinkError.malformedReply(operation: operation, d)
                    } catch { failure = error }
                })
            if let failure { throw failure }
            return decoded
        }
    }

    /// Decodes every reply, turning codec failures into a typed error naming the operation.
    func decodeAll<T>(
        _ messages: [NetlinkMessage], type: UInt16, operation: String,
        _ decode: (NetlinkMessage) throws -> T?
    ) throws -> [T] {
        var out: [T] = []
        out.reserveCapacity(messages.count)
        for m in messages where m.header.type == type {
            do { if let v = try decode(m) { out.append(v) } } catch let d as DecodeError {
                throw NetlinkError.malformedReply(operation: operation, d)
            }
        }
        return out
    }
}

/// Interface names as the kernel's dev_valid_name() accepts them, checked before
/// anything is sent so the error can say exactly what is wrong.
public enum InterfaceName {
    public static let maxBytes = 15 // IFNAMSIZ - 1

    /// Throws `invalidArgument` naming what is wrong with `name`.
    public static func validate(_ name: String) throws { try validate(name, operation: "validate interface name") }

    /// The same, reported under the caller's operation (package-only).
    package static func validate(_ name: String, operation: String) throws {
        let reason: String?
        if name.isEmpty {
            reason = "an interface name cannot be empty"
        } else if name.utf8.count > maxBytes {
            reason = "interface name \"\(name)\" is \(name.utf8.count) bytes; the kernel allows at most \(maxBytes)"
        } else if name == "." || name == ".." {
            reason = "\"\(name)\" is not a valid interface name"
        } else if name.contains("/") {
            reason = "interface name \"\(name)\" contains '/'"
        } else if name.contains(":") {
            reason = "interface name \"\(name)\" contains ':'"
        } else if name.unicodeScalars.contains(where: { $0.properties.isWhitespace }) {
            reason = "interface name \"\(name)\" contains whitespace"
        } else {
            reason = nil
        }
        if let reason { throw NetlinkError.invalidArgument(operation: operation, reason: reason) }
    }
}
