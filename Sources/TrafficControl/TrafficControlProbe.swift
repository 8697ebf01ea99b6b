import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Finds out what this kernel's traffic control can do by trying it: each probe builds a
/// veth pair in a throwaway namespace, attempts the operation, and removes the namespace.
/// Answers are cached for the life of the process.
public enum TrafficControlProbe {
    /// The outcome of one probe: `reason` says why not, naming the kernel option.
    public struct Finding: Sendable, Equatable, Codable {
        public var feature: String
        public var available: Bool
        public var reason: String?
    }

    /// `supports(filter: "matchall")`, `"flower"`, `"u32"`.
    public static func supports(filter kind: String) -> Bool { probe(filter: kind).available }
    public static func supports(qdisc kind: String) -> Bool { probe(qdisc: kind).available }
    public static func supports(action kind: String) -> Bool { probe(action: kind).available }

    public static func probe(filter kind: String) -> Finding {
        cached("filter \(kind)", option: "CONFIG_NET_CLS_\(kind.uppercased())") { rt, a, _ in
            try rt.qdiscAdd(QdiscSpec(device: .name(a), kind: .ingress))
            let spec: FilterKindSpec
            switch kind {
            case "u32": spec = .u32(.matchAll, actions: [])
            case "matchall": spec = .matchall(actions: [])
            case "flower": spec = .flower(FlowerMatch(), actions: [])
            default: throw NetlinkError.invalidArgument(operation: "probe", reason: "no probe for filter kind \(kind)")
            }
            try rt.filterAdd(FilterSpec(device: .name(a), parent: .ingressQdisc, priority: 1, kind: spec))
        }
    }

    public static func probe(qdisc kind: String) -> Finding {
        cached("qdisc \(kind)", option: "CONFIG_NET_SCH_\(kind.uppercased())") { rt, a, _ in
            switch kind {
            case "ingress": try rt.qdiscAdd(QdiscSpec(device: .name(a), kind: .ingress))
            case "clsact": try rt.qdiscAdd(QdiscSpec(device: .name(a), kind: .clsact))
            case "htb": try rt.qdiscAdd(QdiscSpec(device: .name(a), kind: .htb()))
            default: throw NetlinkError.invalidArgument(operation: "probe", reason: "no probe for qdisc kind \(kind)")
            }
        }
    }

    public static func probe(action kind: String) -> Finding {
        cached("action \(kind)", option: "CONFIG_NET_ACT_\(kind.uppercased())") { rt, a, b in
            try rt.qdiscAdd(QdiscSpec(device: .name(a), kind: .ingress))
            let action: TcAction
            switch kind {
            case "mirred": action = .mirred(MirredAction(.redirect, to: try rt.index(of: .name(b))))
            case "gact": action = .gact(.ok)
            default: throw NetlinkError.invalidArgument(operation: "probe", reason: "no probe for action kind \(kind)")
            }
            try rt.filterAdd(FilterSpec(device: .name(a), parent: .ingressQdisc, priority: 1, kind: .u32(.matchAll, actions: [action])))
        }
    }

    /// Findings by feature. Two callers may probe the same feature at once; both get a
    /// true answer and the second to finish stores the same finding again.
    private static let results = Mutex<[String: Finding]>([:])
    /// Numbers the throwaway namespaces of this process.
    private static let probeCount = Atomic<Int>(0)

    private static func cached(_ feature: String, option: String, _ attempt: (Rtnetlink, String, String) throws -> Void) -> Finding {
        if let f = results.withLock({ $0[feature] }) { return f }
        let finding = run(feature, option: option, attempt)
        results.withLock { $0[feature] = finding }
        return finding
    }

    private static func run(_ feature: String, option: String, _ attempt: (Rtnetlink, String, String) throws -> Void) -> Finding {
        let name = "sandnet-probe-\(getpid())-\(probeCount.add(1, ordering: .relaxed).newValue)"
        do {
            let ns = try NetworkNamespace.create(named: name)
            defer { try? NetworkNamespace.delete(named: name) }
            let rt = try Rtnetlink(namespace: ns)
            defer { rt.close() }
            try rt.linkAdd(LinkSpec(name: "probe0", kind: .veth(peerName: "probe1")))
            try attempt(rt, "probe0", "probe1")
            return Finding(feature: feature, available: true, reason: nil)
        } catch let e as NetlinkError {
            var reason = "the kernel refused \(feature): \(e.description)"
            if let errno = e.errno, [ENOENT, EOPNOTSUPP, EINVAL].contains(errno) {
                reason = "kernel lacks \(feature) (\(option)); probe said: \(e.description)"
            }
            return Finding(feature: feature, available: false, reason: reason)
        } catch {
            return Finding(feature: feature, available: false, reason: "probing \(feature) failed: \(error)")
        }
    }
}
