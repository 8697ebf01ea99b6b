/// Failures of plug and unplug that are not the attach's. Each prints as one sentence
/// with a fix where one is known.
public enum HotplugError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Every root port the journal records carries a NIC (or none were recorded).
    case noFreeRootPort(sandbox: String, ports: Int)
    /// The sandbox is not (fully) attached: nothing to plug into.
    case notAttached(sandbox: String, state: String)
    /// `--endpoint` names no endpoint of the namespace.
    case noSuchEndpoint(endpoint: String, namespace: String, why: String)
    /// No `--endpoint` given and not exactly one endpoint is unplugged.
    case endpointToChoose(namespace: String, candidates: [String])
    /// The endpoint already has a NIC in this sandbox.
    case alreadyWired(endpoint: String, sandbox: String)
    /// Unplug of an endpoint the sandbox has no NIC record of (neither plugged nor a recorded attach NIC).
    case notPlugged(endpoint: String, sandbox: String, attached: Bool)
    /// The journal's record of the plug is in a state the operation cannot start from.
    case wrongState(endpoint: String, state: String, operation: String)

    public var description: String {
        switch self {
        case .noFreeRootPort(let s, let n):
            return n == 0
                ? "sandbox \(s) has no spare PCIe root port (it was attached without --spare-ports, or by a sandnet before hotplug); "
                    + "nothing was changed. Fix: attach the sandbox with --spare-ports N"
                : "every one of sandbox \(s)'s \(n) PCIe root ports carries a NIC; nothing was changed. "
                    + "Fix: unplug an endpoint first, or attach with more --spare-ports"
        case .notAttached(let s, let state):
            return "sandbox \(s) is \(state), not attached; nothing was changed. Fix: wait for its attach to finish, or run sandnet gc"
        case .noSuchEndpoint(let e, let ns, let why):
            return "\(ns) has no endpoint \(e) to plug: \(why); nothing was changed. Fix: use a name that `sandnet scan --netns` lists"
        case .endpointToChoose(let ns, let c):
            return c.isEmpty
                ? "\(ns) has no endpoint without a NIC; nothing was changed"
                : "\(ns) has \(c.count) endpoints without a NIC (\(c.joined(separator: ", "))); nothing was changed. "
                    + "Fix: name one with --endpoint"
        case .alreadyWired(let e, let s): return "endpoint \(e) already has a NIC in sandbox \(s); nothing was changed"
        case .notPlugged(let e, let s, let attached):
            return attached
                ? "endpoint \(e) was wired by sandbox \(s)'s attach without a NIC record (model none, or a journal written "
                    + "before attach recorded its NICs' QEMU ids), so it cannot be unplugged alone; nothing was changed. "
                    + "Fix: detach the sandbox (sandnet detach --sandbox \(s))"
                : "sandbox \(s) has no plugged endpoint \(e); nothing was changed"
        case .wrongState(let e, let state, let op):
            return "cannot \(op) endpoint \(e): its plug is in state \(state); nothing was changed"
        }
    }
}
