import NetlinkCodec
import NetlinkSocket
import Rtnetlink

#if canImport(Glibc)
    import Glibc
#endif

/// Takes an endpoint's layer-3 state away and gives it back exactly (macvtap model).
enum EndpointState {
    /// What must be saved before the endpoint's addresses go: removing the last IPv4
    /// address flushes every IPv4 route (of every table) and neighbour of the link, so all
    /// are kept; the kernel's own routes are noted to tell later which ones it remade. The
    /// IPv6 link-local address stays: removing and re-adding it would move its fe80::/64
    /// route behind the other links' in every listing, so the namespace would not come
    /// back identical. (Known cost: the guest makes the same link-local from the MAC.)
    static func save(_ link: ScannedLink) -> SavedEndpointState {
        SavedEndpointState(
            addresses: link.addresses.filter { !$0.isLinkLocal },
            routes: link.routes.filter { !$0.isKernelMade },
            neighbours: link.neighbours.filter(\.permanent),
            kernelRoutes: link.routes.filter(\.isKernelMade))
    }

    /// Removes the saved addresses in `AddressOrder.removal` (so no secondary is promoted
    /// and a kill leaves what restore re-adds first); the kernel drops the routes that
    /// depended on them.
    static func remove(_ saved: SavedEndpointState, from link: String, rt: Rtnetlink, tx: Transaction) throws {
        for a in AddressOrder.removal(saved.addresses) {
            do { try rt.addressDelete(a.prefix, from: .name(link)) } catch let e as NetlinkError where e.errno == EADDRNOTAVAIL {}
            tx.changed("delete address", .address("\(a.prefix)", on: link))
        }
        // IPv6 routes through a gateway outlive the address; they would send the guest's traffic to the host.
        for r in saved.routes where r.family == .inet6 {
            do { try rt.routeDelete(r.spec(device: link)) } catch let e as NetlinkError where e.errno == ESRCH || e.errno == ENOENT {}
            tx.changed("delete route", .route(r.destinationText, on: link))
        }
    }

    /// Re-adds addresses (in `AddressOrder.restore`), then routes of every table (on-link
    /// ones first so gateways resolve), then permanent neighbours, then takes away the
    /// kernel routes the re-adding made that were not there, for journal step `number`.
    /// Anything already present is left as it is; an endpoint that is gone has nothing to
    /// give back to.
    static func restore(
        _ saved: SavedEndpointState, on link: String, rt: Rtnetlink, step: JournalStep, number: Int,
        _ undo: inout UndoAttempts
    ) {
        let benign: Set<Int32> = [EEXIST, ENODEV]
        for a in AddressOrder.restore(saved.addresses) {
            undo.attempt("restore address", .address("\(a.prefix)", on: link), step: step, number: number, ignoring: benign) {
                var spec = AddressSpec(
                    a.prefix, peer: a.peer, broadcast: a.broadcast, label: a.label, scope: a.scope,
                    flags: a.flags & SavedAddress.settableFlags)
                spec.replace = false
                try rt.addressAdd(spec, to: .name(link))
            }
        }
        ReplacedPrefixRoutes.remove(saved, on: link, rt: rt, step: step, number: number, &undo)
        ReplacedPrefixRoutes.settle(saved, on: link, rt: rt)
        let ordered = saved.routes.filter { $0.gateway == nil } + saved.routes.filter { $0.gateway != nil }
        for r in ordered {
            undo.attempt("restore route", .route(r.destinationText, on: link), step: step, number: number, ignoring: benign) {
                try rt.routeAdd(r.spec(device: link))
            }
        }
        for n in saved.neighbours {
            undo.attempt("restore neighbour", .neighbour("\(n.address)", on: link), step: step, number: number, ignoring: benign) {
                try rt.neighbourAdd(n.address, linkAddress: n.mac, on: .name(link))
            }
        }
        KernelRouteCleanup.run(saved, on: link, rt: rt, step: step, number: number, &undo)
    }
}

extension SavedAddress {
    /// IFA_F_* a caller may set on `ip addr add` (nodad, noprefixroute, mngtmpaddr, homeaddress).
    static let settableFlags: UInt32 = IFA_F.NODAD | IFA_F.NOPREFIXROUTE | 0x100 | 0x10
}

extension SavedRoute {
    /// `default` or the prefix, as `ip route` prints it.
    var destinationText: String { destination?.description ?? "default" }

    func spec(device: String) -> RouteSpec {
        RouteSpec(
            destination: destination, gateway: gateway, device: .name(device), preferredSource: preferredSource,
            scope: scope, protocolID: protocolID, table: table, type: type, priority: priority,
            metrics: RouteMetrics(mtu: mtu), onLink: onLink, family: family)
    }
}
