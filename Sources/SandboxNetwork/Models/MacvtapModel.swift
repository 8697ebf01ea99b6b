import NetlinkCodec
import NetlinkSocket
import Rtnetlink

/// macvtap: a macvtap in bridge mode on the endpoint takes over the endpoint's MAC; the
/// endpoint gets a random locally administered MAC and gives its addresses to the guest.
enum MacvtapModel {
    static func attach(_ e: ScannedLink, number: Int, _ ctx: ModelContext) throws -> ModelOutput {
        throw SandboxError.modelNotApplicable(model: "macvtap", endpoint: e.name, reason: "TapDevices not yet built")
    }
}
