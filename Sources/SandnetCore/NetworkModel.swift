/// How an endpoint is carried into the VM (Kata's `internetworking_model`).
public enum NetworkModel: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    /// A multiqueue tap per endpoint, tied to it by ingress u32/mirred redirects both ways.
    case tcfilter
    /// A macvtap on the endpoint that takes over its MAC; the endpoint's addresses move to the guest.
    case macvtap
    /// No host plumbing; the endpoints are only described.
    case none

    public var description: String { rawValue }
}
