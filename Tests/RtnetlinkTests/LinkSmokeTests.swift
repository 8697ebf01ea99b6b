import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import TestSupport
import Testing

@Suite(.serialized) struct LinkSmokeTests {
    @Test(.enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    func vethPairIsCreatedListedAndDeleted() throws {
        try TestNamespace.with { ns in
            let rt = try Rtnetlink(namespace: ns.namespace)
            defer { rt.close() }
            try rt.linkAdd(LinkSpec(name: "sn-a", kind: .veth(peerName: "sn-b"), mtu: 1400, up: true))
            let links = try rt.links()
            let a = try #require(links.first { $0.name == "sn-a" })
            #expect(a.kind == "veth")
            #expect(a.mtu == 1400)
            let ipView = try ns.ipJSON("-d", "link", "show", "sn-a")
            #expect(ipView.first?["ifindex"] as? Int == Int(a.index))
            #expect(ipView.first?["address"] as? String == a.address?.description)
            try rt.linkDelete(.name("sn-a"))
            #expect(try rt.links().allSatisfy { $0.name != "sn-a" && $0.name != "sn-b" })
        }
    }
}
