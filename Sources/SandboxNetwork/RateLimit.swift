import TrafficControl

/// A bandwidth cap for one endpoint, each direction as the guest sees it: `receive` is
/// what reaches the guest (Kata's `rx_rate_limiter_max_rate`, inbound), `transmit` what the
/// guest sends (`tx_rate_limiter_max_rate`, outbound). Bits per second; nil is no cap.
public struct RateLimit: Sendable, Equatable, Codable {
    public var receive: UInt64?
    public var transmit: UInt64?

    public init(receive: UInt64? = nil, transmit: UInt64? = nil) {
        self.receive = receive
        self.transmit = transmit
    }

    public static let unlimited = RateLimit()
    public var isUnlimited: Bool { receive == nil && transmit == nil }

    /// Each direction of `override` where it has one, else this one's.
    public func overridden(by override: RateLimit?) -> RateLimit {
        RateLimit(receive: override?.receive ?? receive, transmit: override?.transmit ?? transmit)
    }

    /// From Kata's settings: 0 means unlimited there.
    public init(kataReceive: UInt64?, kataTransmit: UInt64?) {
        self.init(receive: kataReceive.flatMap { $0 == 0 ? nil : $0 }, transmit: kataTransmit.flatMap { $0 == 0 ? nil : $0 })
    }
}

extension RateLimit: CustomStringConvertible {
    public var description: String {
        let rx = receive.map { "rx \(TcRate.text(bitsPerSecond: $0))" }
        let tx = transmit.map { "tx \(TcRate.text(bitsPerSecond: $0))" }
        let parts = [rx, tx].compactMap { $0 }
        return parts.isEmpty ? "unlimited" : parts.joined(separator: ", ")
    }
}
