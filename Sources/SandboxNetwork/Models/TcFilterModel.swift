import NetlinkCodec
import NetlinkSocket
import Rtnetlink

/// tcfilter: a multiqueue tap per endpoint, joined to it by ingress u32 match-all
/// filters with mirred redirects both ways. The endpoint keeps its addresses.
enum TcFilterModel {
    static func attach(_ e: ScannedLink, number: Int, _ ctx: ModelContext) throws -> ModelOutput {
        throw SandboxError.modelNotApplicable(model: "tcfilter", endpoint: e.name, reason: "TapDevices/TrafficControl not yet built")
    }
    static func removeIngress(_ link: String, rt: Rtnetlink) throws {}
}
