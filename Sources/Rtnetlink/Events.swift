import NetlinkCodec
import NetlinkSocket

/// One change the kernel announced on an rtnetlink multicast group (`ip monitor`).
public enum NetworkEvent: Sendable, Equatable {
    /// RTM_NEWLINK: a link appeared or changed (up/down, MTU, master, ...).
    case linkAdded(Link)
    case linkRemoved(Link)
    case addressAdded(Address)
    case addressRemoved(Address)
    case routeAdded(Route)
    case routeRemoved(Route)
    case neighbourAdded(Neighbour)
    case neighbourRemoved(Neighbour)
    /// Events were lost (the kernel said ENOBUFS, or the consumer fell too far behind):
    /// what you know is stale. Dump again (links(), addresses(), ...) and carry on.
    case resync
}

/// Which multicast groups to join.
public struct NetworkEventGroups: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let links = NetworkEventGroups(rawValue: 1)
    public static let addresses = NetworkEventGroups(rawValue: 2)
    public static let routes = NetworkEventGroups(rawValue: 4)
    public static let neighbours = NetworkEventGroups(rawValue: 8)
    public static let all: NetworkEventGroups = [.links, .addresses, .routes, .neighbours]

    /// RTNLGRP_* numbers for these groups.
    public var multicastGroups: [UInt32] {
        var g: [UInt32] = []
        if contains(.links) { g.append(RTNLGRP.LINK) }
        if contains(.addresses) { g += [RTNLGRP.IPV4_IFADDR, RTNLGRP.IPV6_IFADDR] }
        if contains(.routes) { g += [RTNLGRP.IPV4_ROUTE, RTNLGRP.IPV6_ROUTE] }
        if contains(.neighbours) { g.append(RTNLGRP.NEIGH) }
        return g
    }
}

extension NetworkEvent {
    /// Decodes one multicast message; nil for types this enum does not cover (and for
    /// cloned route-cache entries and families other than IPv4 and IPv6).
    public static func decode(_ message: NetlinkMessage) throws -> NetworkEvent? {
        switch message.header.type {
        case RTM.NEWLINK: return .linkAdded(try Link.decode(message))
        case RTM.DELLINK: return .linkRemoved(try Link.decode(message))
        case RTM.NEWADDR: return try Address.decode(message).map { .addressAdded($0) }
        case RTM.DELADDR: return try Address.decode(message).map { .addressRemoved($0) }
        case RTM.NEWROUTE, RTM.DELROUTE:
            guard let r = try Route.decode(message) else { return nil }
            if r.flags & RTM_F.CLONED != 0 { return nil }
            return message.header.type == RTM.NEWROUTE ? .routeAdded(r) : .routeRemoved(r)
        case RTM.NEWNEIGH: return try Neighbour.decode(message).map { .neighbourAdded($0) }
        case RTM.DELNEIGH: return try Neighbour.decode(message).map { .neighbourRemoved($0) }
        default: return nil
        }
    }
}

/// Link, address, route and neighbour changes in one namespace, as an AsyncSequence
/// (`ip monitor`). Iterate it once:
///
///     for try await event in try NetworkEvents(namespace: ns) { ... }
///
/// The socket is opened inside the namespace at init and joins the groups at once, so no
/// change made after init is missed. Reading starts when iteration does, on a thread of
/// its own that waits in poll(2), never on a Swift concurrency thread. Breaking out of
/// the loop, cancelling the task, calling `close()` or dropping this object ends the
/// stream at once without waiting: the reader thread is woken, and closes the socket
/// itself as it leaves, moments later.
public final class NetworkEvents: AsyncSequence, Sendable {
    public typealias Element = NetworkEvent
    private let stream: AsyncThrowingStream<NetworkEvent, Error>
    private let reader: EventReader

    /// - Parameters:
    ///   - bufferLimit: events held for a slow consumer; past it they are dropped and the
    ///     consumer gets `.resync` after the ones it has.
    ///   - receiveBufferBytes: the socket's receive buffer (SO_RCVBUFFORCE); nil keeps the
    ///     large default. Small values make the kernel drop (and report ENOBUFS) sooner.
    public init(
        namespace: NetworkNamespace? = nil, groups: NetworkEventGroups = .all, bufferLimit: Int = 8192,
        receiveBufferBytes: Int32? = nil
    ) throws {
        let (stream, continuation) = AsyncThrowingStream<NetworkEvent, Error>.makeStream(
            bufferingPolicy: .bufferingOldest(Swift.max(1, bufferLimit)))
        reader = try EventReader(namespace: namespace, groups: groups, receiveBufferBytes: receiveBufferBytes, continuation: continuation)
        self.stream = stream
    }

    deinit { reader.stop() }

    public func makeAsyncIterator() -> Iterator {
        reader.start()
        return Iterator(base: stream.makeAsyncIterator(), token: IteratorToken(reader))
    }

    /// Ends iteration (next() returns nil once the events already read are taken) and
    /// stops the reader; returns without waiting for it.
    public func close() { reader.stop() }

    public struct Iterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<NetworkEvent, Error>.AsyncIterator
        let token: IteratorToken
        public mutating func next() async throws -> NetworkEvent? { try await base.next() }
    }

    /// Stops the subscription when the last copy of the iterator goes away (a `break`).
    final class IteratorToken: Sendable {
        let reader: EventReader
        init(_ r: EventReader) { reader = r }
        deinit { reader.stop() }
    }
}

extension Rtnetlink {
    /// `ip monitor link address route neigh` in this handle's namespace, on a socket of its own.
    public func events(_ groups: NetworkEventGroups = .all) throws -> NetworkEvents {
        try NetworkEvents(namespace: namespace, groups: groups)
    }
}
