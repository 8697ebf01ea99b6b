// libFuzzer target for the typed rtnetlink decoders: Link (kind data, statistics),
// Address, Route (metrics, multipath kept by type), Neighbour, and NetworkEvent, the
// decoder the `ip monitor` reader runs on every multicast message. The input is a
// datagram as the kernel sends it; each message goes to the decoder its type names,
// as the dump readers do. A DecodeError is the right answer to bad bytes.

import FuzzSupport
import NetlinkCodec
import Rtnetlink
import SandnetCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRtnetlink(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    guard let messages = expecting(DecodeError.self, "decodeStream", { try NetlinkMessage.decodeStream(bytes) }) else { return 0 }
    for m in messages {
        let typed = decodeTyped(m)
        // The event reader decodes the same message on its own; it must agree.
        let event = expecting(DecodeError.self, "NetworkEvent.decode of type \(m.header.type)") { try NetworkEvent.decode(m) }
        if case let event?? = event { check(event, against: typed, type: m.header.type) }
    }
    return 0
}

/// What a dump reader gets for this message (`failed`: a DecodeError; `none`: a type no
/// typed decoder takes).
private enum Typed {
    case link(Link)
    case address(Address?)
    case route(Route?)
    case neighbour(Neighbour?)
    case failed, none
}

private func decodeTyped(_ m: NetlinkMessage) -> Typed {
    switch m.header.type {
    case RTM.NEWLINK, RTM.DELLINK:
        guard let l = expecting(DecodeError.self, "Link.decode", { try Link.decode(m) }) else { return .failed }
        use((l.isUp, l.isLoopback, l.hasCarrier, l.operStateName))
        exercise(l, "Link.decode")
        return .link(l)
    case RTM.NEWADDR, RTM.DELADDR:
        guard let a = expecting(DecodeError.self, "Address.decode", { try Address.decode(m) }) else { return .failed }
        if let a {
            use((a.isPermanent, a.scopeName, a.flagNames, a.prefix.description))
            exercise(a, "Address.decode")
        }
        return .address(a)
    case RTM.NEWROUTE, RTM.DELROUTE:
        guard let r = expecting(DecodeError.self, "Route.decode", { try Route.decode(m) }) else { return .failed }
        // nil: a family other than IPv4/IPv6, which the typed decoder leaves out.
        if let r {
            use((r.isOnLink, r.scopeName, r.protocolName, r.typeName, r.tableName, r.destinationText, r.metrics.isEmpty))
            exercise(r, "Route.decode")
        }
        return .route(r)
    case RTM.NEWNEIGH, RTM.DELNEIGH:
        guard let n = expecting(DecodeError.self, "Neighbour.decode", { try Neighbour.decode(m) }) else { return .failed }
        if let n {
            use((n.isPermanent, n.isRouter, n.stateNames))
            exercise(n, "Neighbour.decode")
        }
        return .neighbour(n)
    default:
        return .none
    }
}

private func check(_ event: NetworkEvent, against typed: Typed, type: UInt16) {
    let same: Bool
    switch (event, typed) {
    case (.linkAdded(let e), .link(let l)), (.linkRemoved(let e), .link(let l)): same = e == l
    case (.addressAdded(let e), .address(let a?)), (.addressRemoved(let e), .address(let a?)): same = e == a
    case (.routeAdded(let e), .route(let r?)), (.routeRemoved(let e), .route(let r?)): same = e == r
    case (.neighbourAdded(let e), .neighbour(let n?)), (.neighbourRemoved(let e), .neighbour(let n?)): same = e == n
    default: same = false
    }
    let added: Bool
    switch event {
    case .linkAdded, .addressAdded, .routeAdded, .neighbourAdded: added = true
    default: added = false
    }
    let newType = [RTM.NEWLINK, RTM.NEWADDR, RTM.NEWROUTE, RTM.NEWNEIGH].contains(type)
    require(same && added == newType, "NetworkEvent.decode gave \(event) for a message of type \(type), the typed decoder \(typed)")
}
