import Foundation
import Synchronization

/// A QMP connection to one QEMU (its `-qmp unix:PATH,server=on` monitor), negotiated and
/// ready for commands. One command at a time: a call holds the connection until its reply
/// (or its timeout), and events that arrive meanwhile are queued for `waitForEvent` and
/// `takeEvents`. Every wait is bounded. Replies are matched by `id`, so a reply that comes
/// after its command timed out is recognised and dropped, never taken for another's.
public final class QmpClient: Sendable {
    public static let defaultTimeout: Duration = .seconds(10)
    /// Events kept for `waitForEvent`/`takeEvents`; older ones are dropped (and counted) beyond it.
    public static let eventQueueLimit = 1024

    public let path: String
    public let greeting: QmpGreeting
    private let connection: Mutex<Connection>

    private struct Connection: ~Copyable, Sendable {
        var socket: UnixLineSocket
        var events: [QmpEvent] = []
        var droppedEvents = 0
        var nextID = 1
        var closed = false
    }

    /// Connects, reads the greeting and leaves capabilities negotiation mode (`qmp_capabilities`).
    public init(path: String, timeout: Duration = QmpClient.defaultTimeout) throws(QmpClientError) {
        var socket: UnixLineSocket
        do {
            socket = try UnixLineSocket(connectingTo: path)
        } catch {
            if case .system(_, let e) = error { throw .cannotConnect(path: path, errno: e) }
            throw .cannotConnect(path: path, errno: 0)
        }
        let deadline = ContinuousClock.now + timeout
        let first = try Self.read(&socket, until: deadline, waitingFor: "the QMP greeting", timeout: timeout)
        guard case .greeting(let g) = first else {
            throw .protocolViolation(path: path, detail: "the first message is not the QMP greeting")
        }
        self.path = path
        self.greeting = g
        var c = Connection(socket: socket)
        _ = try Self.run(&c, "qmp_capabilities", arguments: [:], passing: nil, timeout: timeout)
        self.connection = Mutex(c)
    }

    /// Runs `command` and returns its `return` value; throws `.commandFailed` with QEMU's
    /// class and desc when QEMU refuses it. `passing`: a descriptor sent with the command
    /// as SCM_RIGHTS (what `getfd` and `add-fd` take).
    @discardableResult
    public func execute(
        _ command: String, arguments: [String: JSONValue] = [:], passing descriptor: Int32? = nil,
        timeout: Duration = QmpClient.defaultTimeout
    ) throws(QmpClientError) -> JSONValue {
        try connection.withLock { (c: inout Connection) throws(QmpClientError) -> JSONValue in
            guard !c.closed else { throw .closed(path: path) }
            return try Self.run(&c, command, arguments: arguments, passing: descriptor, timeout: timeout)
        }
    }

    /// The first event called `name` for which `matching` holds: a queued one, else the next
    /// to arrive within `timeout`. Other events stay queued. Throws `.timedOut` when none came.
    public func waitForEvent(
        _ name: String, timeout: Duration, matching: @Sendable (QmpEvent) -> Bool = { _ in true }
    ) throws(QmpClientError) -> QmpEvent {
        try connection.withLock { (c: inout Connection) throws(QmpClientError) -> QmpEvent in
            guard !c.closed else { throw .closed(path: path) }
            if let i = c.events.firstIndex(where: { $0.name == name && matching($0) }) { return c.events.remove(at: i) }
            let deadline = ContinuousClock.now + timeout
            let what = "event \(name)"
            while true {
                let m = try Self.read(&c.socket, until: deadline, waitingFor: what, timeout: timeout)
                guard case .event(let e) = m else {
                    if case .greeting = m { throw .protocolViolation(path: c.socket.path, detail: "a second greeting") }
                    continue // a late reply to a command that timed out
                }
                if e.name == name && matching(e) { return e }
                Self.queue(e, in: &c)
            }
        }
    }

    /// Takes every queued event, oldest first, and how many were dropped since the last call.
    public func takeEvents() -> (events: [QmpEvent], dropped: Int) {
        connection.withLock { c in
            defer {
                c.events = []
                c.droppedEvents = 0
            }
            return (c.events, c.droppedEvents)
        }
    }

    /// Stops taking commands and shuts the socket (QEMU sees the monitor client leave).
    public func close() {
        connection.withLock { c in
            guard !c.closed else { return }
            c.closed = true
            _ = shutdown(c.socket.descriptor, Int32(SHUT_RDWR))
        }
    }

    private static func run(
        _ c: inout Connection, _ command: String, arguments: [String: JSONValue], passing descriptor: Int32?, timeout: Duration
    ) throws(QmpClientError) -> JSONValue {
        let id = "sandnet-\(c.nextID)"
        c.nextID += 1
        let path = c.socket.path
        do {
            try c.socket.send(QmpCodec.encodeCommand(command, arguments: arguments, id: id), passing: descriptor)
        } catch {
            throw map(error, path: path, waitingFor: "the reply to \(command)", timeout: timeout)
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            switch try read(&c.socket, until: deadline, waitingFor: "the reply to \(command)", timeout: timeout) {
            case .reply(let r) where r.id == id: return r.value
            case .error(let e) where e.id == id: throw .commandFailed(command: command, error: e)
            case .event(let e): queue(e, in: &c)
            case .greeting: throw .protocolViolation(path: path, detail: "a second greeting")
            case .reply, .error: continue // a late answer to an earlier command that timed out
            }
        }
    }

    private static func queue(_ e: QmpEvent, in c: inout Connection) {
        c.events.append(e)
        if c.events.count > eventQueueLimit {
            c.events.removeFirst()
            c.droppedEvents += 1
        }
    }

    private static func read(
        _ socket: inout UnixLineSocket, until deadline: ContinuousClock.Instant, waitingFor what: String, timeout: Duration
    ) throws(QmpClientError) -> QmpMessage {
        let line: Data
        do {
            line = try socket.readLine(until: deadline)
        } catch {
            throw map(error, path: socket.path, waitingFor: what, timeout: timeout)
        }
        do {
            return try QmpCodec.decode(line: line)
        } catch {
            throw .protocolViolation(path: socket.path, detail: error.description)
        }
    }

    private static func map(_ f: UnixLineSocket.Failure, path: String, waitingFor what: String, timeout: Duration) -> QmpClientError {
        switch f {
        case .closedByPeer: return .socketGone(path: path, waitingFor: what)
        case .timedOut: return .timedOut(path: path, waitingFor: what, seconds: timeout.secondsValue)
        case .system(let op, let e): return .system(operation: op, path: path, errno: e)
        case .badLine(let d): return .protocolViolation(path: path, detail: d.description)
        }
    }
}

extension Duration {
    var secondsValue: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
