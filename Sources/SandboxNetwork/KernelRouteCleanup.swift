import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore

#if canImport(Glibc)
    import Glibc
#endif

/// The last part of giving an endpoint back: a kernel route that re-adding its addresses
/// made, and that was not there before, is taken away again.
///
/// The one such route is IPv6's ff00::/8 multicast route in the local table. The kernel
/// makes it when a link gets carrier and when an IPv6 address is added to a link that is
/// up; a link whose addresses came while it was down and that never had carrier since has
/// none. Re-adding the addresses to it (up, still without carrier) would leave one behind.
/// It is removed only while the link still has no carrier: the kernel makes it again
/// itself when carrier comes, which is also when it starts to matter.
enum KernelRouteCleanup {
    static func run(
        _ saved: SavedEndpointState, on link: String, rt: Rtnetlink, step: JournalStep, number: Int,
        _ undo: inout UndoAttempts
    ) {
        // A journal written before kernel routes were saved cannot say which were there.
        guard let before = saved.kernelRoutes else { return }
        var found: (Link, [Route])?
        undo.attempt("list routes", .link(link), step: step, number: number, ignoring: [ENODEV]) {
            found = (try rt.link(.name(link)), try rt.routes(table: nil))
        }
        guard let (l, routes) = found, l.isUp, !l.hasCarrier else { return }
        let had = Set(before.map(Key.init))
        for r in routes where r.outputIndex == l.index && r.protocolID == .kernel && r.type == .multicast {
            let saved = SavedRoute(r)
            guard !had.contains(Key(saved)) else { continue }
            undo.attempt(
                "delete route the kernel remade", .route(saved.destinationText, on: link), step: step, number: number,
                ignoring: [ESRCH, ENOENT, ENODEV]
            ) {
                try rt.routeDelete(
                    RouteSpec(
                        destination: r.destination, device: .index(l.index), table: r.table, type: r.type,
                        priority: r.priority, family: r.family))
            }
        }
    }

    /// What tells one kernel route of a link from another.
    struct Key: Hashable {
        var family: IPFamily, destination: IPPrefix?, table: RouteTable, type: RouteType
        init(_ r: SavedRoute) {
            family = r.family
            destination = r.destination
            table = r.table
            type = r.type
        }
    }
}
