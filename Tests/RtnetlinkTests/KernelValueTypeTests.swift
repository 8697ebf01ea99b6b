import Foundation
import NetlinkCodec
import Rtnetlink
import SandnetCore
import Testing

/// The typed kernel values: named constants are the kernel's numbers, unknown numbers
/// survive a decode and an encode, and Codable writes the bare number.
@Suite struct KernelValueTypeTests {
    @Test func namedConstantsAreTheKernelNumbers() {
        #expect(IPFamily.inet.rawValue == AddressFamily.INET && IPFamily.inet6.rawValue == AddressFamily.INET6)
        #expect(IPFamily(rawValue: AddressFamily.BRIDGE) == nil)
        #expect(RouteScope.link.rawValue == RT_SCOPE.LINK && RouteScope.nowhere.rawValue == RT_SCOPE.NOWHERE)
        #expect(RouteProtocol.kernel.rawValue == RTPROT.KERNEL && RouteProtocol.static.rawValue == RTPROT.STATIC)
        #expect(RouteType.blackhole.rawValue == RTN.BLACKHOLE && RouteTable.main.rawValue == RT_TABLE.MAIN)
        #expect(NeighbourState.permanent.rawValue == NUD.PERMANENT)
    }

    @Test func descriptionsAreWhatIpPrints() {
        #expect(
            [RouteScope.universe, .site, .link, .host, .nowhere, RouteScope(rawValue: 42)].map(\.description)
                == ["global", "site", "link", "host", "nowhere", "42"])
        #expect(
            [RouteProtocol.boot, .kernel, RouteProtocol(rawValue: 186), RouteProtocol(rawValue: 250)].map(\.description)
                == ["boot", "kernel", "bgp", "250"])
        #expect(
            [RouteType.unicast, .unreachable, RouteType(rawValue: 9), RouteType(rawValue: 77)].map(\.description)
                == ["unicast", "unreachable", "throw", "77"])
        #expect([RouteTable.main, .local, .default, 5000].map(\.description) == ["main", "local", "default", "5000"])
        #expect(NeighbourState([.reachable, .permanent]).names == ["REACHABLE", "PERMANENT"])
        #expect(NeighbourState().names == ["NONE"])
        #expect(IPFamily.allCases.map(\.description) == ["inet", "inet6"])
    }

    @Test func codableIsTheBareKernelNumberAndUnknownValuesRoundTrip() throws {
        struct Values: Codable, Equatable {
            var family: IPFamily, scope: RouteScope, proto: RouteProtocol, type: RouteType, table: RouteTable, state: NeighbourState
        }
        let v = Values(
            family: .inet6, scope: RouteScope(rawValue: 99), proto: RouteProtocol(rawValue: 200),
            type: RouteType(rawValue: 11), table: RouteTable(4_000_000_000), state: NeighbourState(rawValue: 0x8100))
        let data = try JSONEncoder().encode(v)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Int])
        #expect(object == ["family": 10, "scope": 99, "proto": 200, "type": 11, "table": 4_000_000_000, "state": 0x8100])
        #expect(try JSONDecoder().decode(Values.self, from: data) == v)
        // An address family that is not IPv4 or IPv6 is refused, not silently mapped.
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(IPFamily.self, from: Data("7".utf8)) }
    }

    @Test func unknownRouteFieldsSurviveTheRequestBuilderAndDecoder() throws {
        let spec = RouteSpec(
            destination: IPPrefix("203.0.113.0/24"), scope: RouteScope(rawValue: 42), protocolID: RouteProtocol(rawValue: 186),
            table: RouteTable(70000), type: .prohibit)
        let r = try #require(try Route.decode(Rtnetlink.routeAddRequest(spec, outputIndex: 3)))
        #expect(r.scope.rawValue == 42 && r.protocolID.description == "bgp" && r.table == 70000 && r.type == .prohibit)
        // A route of another family (here RTNL_FAMILY_IPMR, 128) is not an IP route.
        var other = Rtnetlink.routeAddRequest(spec, outputIndex: 3)
        other.payload[0] = 128
        #expect(try Route.decode(other) == nil)
    }
}
