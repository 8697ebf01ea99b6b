import SandnetCore

/// none: the endpoint is left as it is for whatever connects the VM (a tap a CNI made, say),
/// and gets only its rate limit. Its host side stands for the guest NIC, as a tap's does:
/// the guest receives what the endpoint transmits and transmits what the endpoint receives
/// (shaped through an ifb of the sandbox's own).
enum NoneModel {
    static func attach(_ e: ScannedLink, number: Int, _ ctx: ModelContext) throws -> ModelOutput {
        let limit = ctx.settings.rateLimit(for: e.name)
        if limit.receive != nil { try RateShaping.requireDefaultRoot(e.name, ifindex: e.index, model: "none", rt: ctx.rt) }
        if limit.transmit != nil, ctx.linksWithIngress.contains(e.index) {
            throw SandboxError.modelNotApplicable(
                model: "none", endpoint: e.name,
                reason:
                    "a transmit limit redirects its ingress through an ifb, but it already has an ingress/clsact qdisc (another tool's filters)"
            )
        }
        if let rx = limit.receive { try RateShaping.shapeEgress(e.name, ifindex: e.index, rate: rx, ctx) }
        if let tx = limit.transmit { try RateShaping.shapeIngress(e.name, ifindex: e.index, rate: tx, number: number, ctx) }
        return ModelOutput(device: nil, guestMAC: e.mac ?? MACAddress.randomLocal())
    }

    /// Whether the attach must know the links that already have an ingress qdisc for this endpoint.
    static func needsIngress(_ e: ScannedLink, _ settings: AttachSettings) -> Bool {
        settings.model(for: e.name) == .none && settings.rateLimit(for: e.name).transmit != nil
    }
}
