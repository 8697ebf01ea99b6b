import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore

#if canImport(Glibc)
    import Glibc
#endif

/// Two things re-adding an endpoint's addresses does that a tool such as the CNI ptp plugin
/// had undone: the kernel's prefix route for each address comes back, though ptp had deleted
/// it for one through its gateway; and IPv6 addresses are tentative (DAD) for a moment, while
/// routes naming them as source are refused ("Invalid source address"; ptp waited too).
enum ReplacedPrefixRoutes {
    /// Deletes the kernel's prefix routes of `link` that were not there at attach (by
    /// `kernelRoutes`) and whose destination a saved route of the same table holds: the
    /// saved route is what restore puts there next.
    static func remove(
        _ saved: SavedEndpointState, on link: String, rt: Rtnetlink, step: JournalStep, number: Int, _ undo: inout UndoAttempts
    ) {
        guard let before = saved.kernelRoutes else { return }
        let had = Set(before.map(KernelRouteCleanup.Key.init))
        let replaced = Set(saved.routes.map { Replaced(family: $0.family, destination: $0.destination, table: $0.table) })
        var found: (Link, [Route])?
        undo.attempt("list routes", .link(link), step: step, number: number, ignoring: [ENODEV]) {
            found = (try rt.link(.name(link)), try rt.routes(table: nil))
        }
        guard let (l, routes) = found else { return }
        for r in routes where r.outputIndex == l.index && r.protocolID == .kernel && r.type == .unicast {
            let s = SavedRoute(r)
            guard !had.contains(KernelRouteCleanup.Key(s)),
                replaced.contains(Replaced(family: s.family, destination: s.destination, table: s.table))
            else { continue }
            undo.attempt(
                "delete the prefix route the kernel remade", .route(s.destinationText, on: link), step: step, number: number,
                ignoring: [ESRCH, ENOENT, ENODEV]
            ) {
                try rt.routeDelete(
                    RouteSpec(
                        destination: r.destination, device: .index(l.index), table: r.table, type: r.type,
                        priority: r.priority, family: r.family))
            }
        }
    }

    /// Waits, at most `bound`, until none of the saved IPv6 addresses of `link` is tentative,
    /// when a saved route names one of them as its source. DAD failing is not waited out.
    static func settle(_ saved: SavedEndpointState, on link: String, rt: Rtnetlink, bound: Duration = .seconds(5)) {
        let sources = Set(saved.routes.compactMap { $0.family == .inet6 ? $0.preferredSource : nil })
        guard !sources.isEmpty else { return }
        let deadline = ContinuousClock.now + bound
        while ContinuousClock.now < deadline {
            guard let addresses = try? rt.addresses(of: .name(link), family: .inet6) else { return }
            let tentative = addresses.contains {
                sources.contains($0.prefix.address) && $0.flags & IFA_F.TENTATIVE != 0 && $0.flags & IFA_F.DADFAILED == 0
            }
            if !tentative { return }
            usleep(50_000)
        }
    }

    struct Replaced: Hashable {
        var family: IPFamily, destination: IPPrefix?, table: RouteTable
    }
}
