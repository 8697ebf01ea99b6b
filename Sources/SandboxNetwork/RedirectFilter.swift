import NetlinkSocket
import Rtnetlink
import TrafficControl

/// The tcfilter model's redirect: u32 match-all at one priority under the ingress qdisc,
/// one mirred egress redirect to the other side.
enum RedirectFilter {
    static let priority: UInt16 = 1

    static func redirects(_ f: Filter, to index: Int32) -> Bool {
        f.actions.contains { if case let .mirred(m) = $0.action { return m.mode == .redirect && m.targetIndex == index } else { return false } }
    }

    /// The handle the kernel gave the redirect just added on `from` (u32 picks it): a dump
    /// of that priority, so the undo can name exactly this filter.
    static func handle(on from: Int32, to target: Int32, rt: Rtnetlink) throws -> UInt32? {
        try rt.filters(device: .index(from), parent: .ingressQdisc)
            .first { $0.priority == priority && $0.kind == "u32" && $0.u32?.divisor == nil && redirects($0, to: target) }?.handle
    }
}
