import NetlinkSocket
import Rtnetlink
import TrafficControl

/// The tcfilter model's redirect: u32 match-all at one priority under the ingress qdisc,
/// one mirred egress redirect to the other side.
enum RedirectFilter {
    static let priority: UInt16 = 1

    /// The entries u32 lists besides its nodes: the priority itself (handle 0) and the hash
    /// table it made (`fh 800: ht divisor 1`). They carry no match and no action.
    static func isStructural(_ f: Filter) -> Bool { f.handle == 0 || f.u32?.divisor != nil }

    static func redirects(_ f: Filter, to index: Int32) -> Bool {
        f.actions.contains {
            if case .mirred(let m) = $0.action { return m.mode == .redirect && m.targetIndex == index } else { return false }
        }
    }

    /// The handle the kernel gave the redirect just added on `from` (u32 picks it): a dump
    /// of that priority, so the undo can name exactly this filter.
    static func handle(on from: Int32, to target: Int32, rt: Rtnetlink) throws -> UInt32? {
        try rt.filters(device: .index(from), parent: .ingressQdisc)
            .first { $0.priority == priority && $0.kind == "u32" && !isStructural($0) && redirects($0, to: target) }?.handle
    }
}
