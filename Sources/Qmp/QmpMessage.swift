import Foundation

/// The greeting QEMU sends first on a QMP connection.
public struct QmpGreeting: Sendable, Equatable {
    public var major: Int
    public var minor: Int
    public var micro: Int
    /// The distribution's package string (`Debian 1:7.2+dfsg-7`), empty when none.
    public var package: String
    /// What the server offers to enable with `qmp_capabilities` (`oob`).
    public var capabilities: [String]

    public var versionText: String { "\(major).\(minor).\(micro)" }
}

/// A successful reply: `{"return": …, "id": …}`.
public struct QmpReply: Sendable, Equatable {
    public var id: String?
    public var value: JSONValue
}

/// QEMU's refusal of a command: `{"error": {"class": …, "desc": …}, "id": …}`.
public struct QmpError: Error, Sendable, Equatable, CustomStringConvertible {
    public var id: String?
    /// `GenericError`, `CommandNotFound`, `DeviceNotFound`, `DeviceNotActive`, `KVMMissingCap`.
    public var errorClass: String
    /// QEMU's human-readable reason, verbatim.
    public var desc: String

    public init(id: String?, errorClass: String, desc: String) {
        self.id = id
        self.errorClass = errorClass
        self.desc = desc
    }

    public var description: String { "\(desc) (\(errorClass))" }
}

/// An asynchronous event: `{"event": NAME, "data": {…}, "timestamp": {"seconds": S, "microseconds": U}}`.
public struct QmpEvent: Sendable, Equatable {
    public var name: String
    /// When QEMU emitted it (host wall clock); nil when QEMU sent no valid timestamp.
    public var timestamp: Date?
    /// The event's data object; `.object([:])` when it has none.
    public var data: JSONValue

    public init(name: String, timestamp: Date?, data: JSONValue) {
        self.name = name
        self.timestamp = timestamp
        self.data = data
    }
}

/// One message from the server.
public enum QmpMessage: Sendable, Equatable {
    case greeting(QmpGreeting)
    case reply(QmpReply)
    case error(QmpError)
    case event(QmpEvent)
}

/// A line from the server that is not a QMP message.
public struct QmpDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    /// The offending line, cut to 200 bytes.
    public var line: String

    public var description: String { "\(reason): \(line)" }
}
