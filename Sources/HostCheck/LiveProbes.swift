import Foundation
import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import TapDevices
import TrafficControl

#if canImport(Glibc)
    import Glibc
#endif

/// What trying an operation for real showed.
public struct ProbeResult: Sendable, Codable, Equatable {
    public enum Outcome: String, Sendable, Codable { case passed, failed, skipped }

    public var probe: ProbeID
    public var outcome: Outcome
    /// What was tried, in iproute2 terms ("ip link add type veth").
    public var operation: String
    public var errno: Int32?
    /// "EOPNOTSUPP (Operation not supported)".
    public var errnoName: String?
    /// The kernel's extended-ACK text, when it gave one.
    public var kernelMessage: String?
    /// The option, module or device node the failure points at.
    public var culprit: String?
    /// One sentence: why skipped, or what failed.
    public var detail: String?
    /// The KVM usability probe's findings (probe dev-kvm only).
    public var kvm: KVMUsability?

    static func passed(_ p: ProbeID, _ op: String) -> ProbeResult {
        ProbeResult(probe: p, outcome: .passed, operation: op)
    }
    static func skipped(_ p: ProbeID, _ op: String, _ why: String) -> ProbeResult {
        ProbeResult(probe: p, outcome: .skipped, operation: op, detail: why)
    }
    static func failed(_ p: ProbeID, _ op: String, errno: Int32?, kernelMessage: String?, culprit: String?, detail: String) -> ProbeResult {
        ProbeResult(
            probe: p, outcome: .failed, operation: op, errno: errno, errnoName: errno.map(errnoText),
            kernelMessage: kernelMessage, culprit: culprit, detail: detail)
    }
}

/// Runs the probes: netlink families (no privilege needed), then as root a throwaway
/// namespace with a veth, a macvtap, and the device nodes.
public enum LiveProbes {
    /// Why probes that need root cannot run here, or nil.
    public static var rootSkipReason: String? {
        getuid() == 0
            ? nil : "needs root (CAP_NET_ADMIN) to create a throwaway namespace and open device nodes; run `sandnet check` as root"
    }

    /// `namespaceName`: the throwaway namespace's name (default: unique per call).
    /// `bootProbe`: also boot a real guest under `-accel kvm` (slow; `--kvm-boot-probe`).
    public static func run(
        _ probes: Set<ProbeID> = Set(ProbeID.allCases), namespaceName: String? = nil, bootProbe: KVMBootProbe? = nil
    ) -> [ProbeID: ProbeResult] {
        var results: [ProbeID: ProbeResult] = [:]
        let families = probes.compactMap(Requirements.family(of:))
        for f in NetlinkProtocol.probe(families) {
            let id = ProbeID.allCases.first { Requirements.family(of: $0) == f.family }!
            let op = "socket(AF_NETLINK, SOCK_RAW, \(f.family.kernelName))"
            if f.available {
                results[id] = .passed(id, op)
            } else {
                let culprit = f.family.kernelOption.map { opt in "\(opt)" + (f.family.moduleName.map { " (module \($0))" } ?? "") }
                results[id] = .failed(
                    id, op, errno: f.errno, kernelMessage: nil, culprit: culprit,
                    detail: "this kernel has no \(f.family.kernelName) family")
            }
        }
        let rest = probes.subtracting(results.keys)
        if let why = rootSkipReason {
            for p in rest { results[p] = .skipped(p, operation(of: p), why) }
            return results
        }
        ProbeNamespaceSweep.sweep()
        for p in rest {
            switch p {
            case .devTun: results[p] = openDevice("/dev/net/tun", probe: p, option: "CONFIG_TUN (module tun)")
            case .devVhostNet: results[p] = openDevice("/dev/vhost-net", probe: p, option: "CONFIG_VHOST_NET (module vhost_net)")
            case .devVhostVsock: results[p] = openDevice("/dev/vhost-vsock", probe: p, option: "CONFIG_VHOST_VSOCK (module vhost_vsock)")
            case .devKVM: results[p] = kvmProbe(bootProbe: bootProbe)
            default: break
            }
        }
        let inNamespace = rest.filter { results[$0] == nil }
        let name = namespaceName ?? ProbeNamespaceSweep.name()
        if !inNamespace.isEmpty { namespaceProbes(inNamespace, name: name, into: &results) }
        return results
    }

    static func operation(of p: ProbeID) -> String {
        switch p {
        case .netlinkRoute, .netlinkXfrm, .netlinkNetfilter:
            return "socket(AF_NETLINK, SOCK_RAW, \(Requirements.family(of: p)!.kernelName))"
        case .networkNamespace: return "ip netns add"
        case .veth: return "ip link add type veth"
        case .tapMultiqueue: return "ip tuntap add mode tap multi_queue"
        case .macvtap: return "ip link add link DEV type macvtap mode bridge"
        case .ingressQdisc: return "tc qdisc add dev DEV ingress"
        case .u32Filter: return "tc filter add dev DEV parent ffff: protocol all u32 match u32 0 0"
        case .mirredAction: return "tc filter add ... action mirred egress redirect dev DEV"
        case .htbQdisc: return "tc qdisc add dev DEV root handle 534e: htb, tc class add ... htb rate 50mbit"
        case .ifb: return "ip link add NAME type ifb"
        case .devTun: return "open /dev/net/tun"
        case .devVhostNet: return "open /dev/vhost-net"
        case .devVhostVsock: return "open /dev/vhost-vsock"
        case .devKVM: return "run a throwaway KVM guest: real mode, long mode with paging, LAPIC timer interrupts, a compute loop"
        }
    }

    /// /dev/kvm opening is not enough: the probe runs guest code (and, when asked, boots a guest).
    static func kvmProbe(bootProbe: KVMBootProbe?) -> ProbeResult {
        let p = ProbeID.devKVM
        var k = KVMProbe.run()
        if let bootProbe, k.verdict == .usable || k.verdict == .unusable {
            let b = bootProbe.run()
            k.bootProbe = b
            k.ran.append(
                "boot probe: \(b.command.joined(separator: " ")): "
                    + (b.error
                        ?? "reached \(b.reached.isEmpty ? "nothing" : b.reached.joined(separator: ", ")) in \(Int(b.elapsedSeconds)) s"))
            if b.error == nil, !b.booted, k.verdict == .usable {
                k.verdict = .unusable
                k.reason =
                    "the probe guest ran at host speed, but a Linux guest did not reach user space under -accel kvm within "
                    + "\(Int(b.timeoutSeconds)) s"
            }
        }
        var result: ProbeResult
        switch k.verdict {
        case .usable: result = .passed(p, operation(of: p))
        case .unknown: result = .skipped(p, operation(of: p), k.reason)
        case .absent:
            result = .failed(
                p, "open /dev/kvm", errno: ENOENT, kernelMessage: nil,
                culprit: "CONFIG_KVM and its vendor module (kvm_intel or kvm_amd on x86_64)", detail: k.reason)
        case .unusable:
            result = .failed(p, operation(of: p), errno: nil, kernelMessage: nil, culprit: nil, detail: k.reason)
        }
        result.kvm = k
        return result
    }

    static func openDevice(_ path: String, probe: ProbeID, option: String) -> ProbeResult {
        let op = "open \(path)"
        let fd = open(path, O_RDWR | O_CLOEXEC)
        if fd >= 0 {
            close(fd)
            return .passed(probe, op)
        }
        let e = errno
        let detail: String
        switch e {
        case ENOENT: detail = "\(path) does not exist: the driver is not loaded (or not built), or nothing created the device node"
        case ENODEV, ENXIO: detail = "\(path) exists but no driver answers behind it"
        case EACCES, EPERM: detail = "\(path) exists but this user may not open it"
        default: detail = "\(path) cannot be opened"
        }
        return .failed(probe, op, errno: e, kernelMessage: nil, culprit: e == EACCES || e == EPERM ? path : option, detail: detail)
    }

    /// Link probes in a throwaway namespace, always deleted afterwards.
    static func namespaceProbes(_ probes: Set<ProbeID>, name: String, into results: inout [ProbeID: ProbeResult]) {
        do {
            try NetworkNamespace.create(named: name)
        } catch {
            let e = (error as? NetlinkError)?.errno
            for p in probes {
                results[p] =
                    p == .networkNamespace
                    ? .failed(p, operation(of: p), errno: e, kernelMessage: nil, culprit: "CONFIG_NET_NS", detail: "\(error)")
                    : .skipped(p, operation(of: p), "no throwaway namespace to try it in: \(error)")
            }
            return
        }
        defer { try? NetworkNamespace.delete(named: name) }
        if probes.contains(.networkNamespace) { results[.networkNamespace] = .passed(.networkNamespace, operation(of: .networkNamespace)) }
        let rtnl: Rtnetlink
        do { rtnl = try Rtnetlink(namespace: .named(name)) } catch {
            for p in probes where results[p] == nil {
                results[p] = .skipped(p, operation(of: p), "cannot open NETLINK_ROUTE in the throwaway namespace: \(error)")
            }
            return
        }
        defer { rtnl.close() }

        var vethReady = false
        let wantsTC = probes.contains(.ingressQdisc) || probes.contains(.u32Filter) || probes.contains(.mirredAction)
        if probes.contains(.veth) || probes.contains(.macvtap) || probes.contains(.htbQdisc) || wantsTC {
            let r = linkProbe(.veth, kind: "veth", option: "CONFIG_VETH (module veth)") {
                try rtnl.linkAdd(LinkSpec(name: "chk-veth0", kind: .veth(peerName: "chk-veth1")))
            }
            vethReady = r.outcome == .passed
            if probes.contains(.veth) { results[.veth] = r }
        }
        if probes.contains(.macvtap) {
            results[.macvtap] =
                vethReady
                ? macvtapProbe(rtnl)
                : .skipped(.macvtap, operation(of: .macvtap), "no veth to put the macvtap on (the veth probe failed)")
        }
        if probes.contains(.tapMultiqueue) {
            results[.tapMultiqueue] = tapProbe(in: .named(name))
        }
        if probes.contains(.ifb) {
            results[.ifb] = linkProbe(.ifb, kind: "ifb", option: "CONFIG_IFB (module ifb)") {
                try rtnl.linkAdd(LinkSpec(name: "chk-ifb0", kind: .ifb))
            }
        }
        if probes.contains(.htbQdisc) {
            results[.htbQdisc] =
                vethReady
                ? htbProbe(rtnl)
                : .skipped(.htbQdisc, operation(of: .htbQdisc), "no veth to shape (the veth probe failed)")
        }
        // tcfilter's plumbing, step by step on the veth: each step needs the one before.
        if wantsTC {
            if vethReady {
                tcProbes(rtnl, probes, into: &results)
            } else {
                for p in [ProbeID.ingressQdisc, .u32Filter, .mirredAction] where probes.contains(p) {
                    results[p] = .skipped(p, operation(of: p), "no veth to attach it to (the veth probe failed)")
                }
            }
        }
        for p in probes where results[p] == nil {
            results[p] = .skipped(p, operation(of: p), "not tried")
        }
    }

    static func macvtapProbe(_ rtnl: Rtnetlink) -> ProbeResult {
        let option = "CONFIG_MACVTAP (module macvtap; needs CONFIG_MACVLAN)"
        let created = linkProbe(.macvtap, kind: "macvtap", option: option) {
            try Macvtap.create(MacvtapSpec(name: "chk-mvtap0", parent: .name("chk-veth0")), in: rtnl)
        }
        guard created.outcome == .passed else { return created }
        // The queue is a character device /dev/tapN: open one through a private node so a
        // missing or clashing /dev entry cannot decide the answer.
        let dir = NSTemporaryDirectory() + "sandnet-check-tap-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let queues = try Macvtap.openQueues(.name("chk-mvtap0"), count: 1, in: rtnl, nodeDirectory: dir)
            queues.close()
            return .passed(.macvtap, operation(of: .macvtap) + ", open its queue")
        } catch {
            return .failed(
                .macvtap, "open the macvtap's queue (/dev/tapN)", errno: (error as? NetlinkError)?.errno,
                kernelMessage: nil, culprit: "CONFIG_TAP (selected by CONFIG_MACVTAP)", detail: "\(error)")
        }
    }

    static func tapProbe(in ns: NetworkNamespace) -> ProbeResult {
        let op = operation(of: .tapMultiqueue)
        do {
            let queues = try TunTap.create(TapSpec(name: "chk-tap0", queues: 2, multiQueue: true, persistent: false), in: ns)
            queues.close()
            return .passed(.tapMultiqueue, op)
        } catch {
            let e = (error as? NetlinkError)?.errno
            let detail = e == ENOENT ? "/dev/net/tun is missing" : (e == EINVAL ? "the tun driver refused a multiqueue tap" : "\(error)")
            return .failed(
                .tapMultiqueue, op, errno: e, kernelMessage: nil, culprit: "CONFIG_TUN (module tun), /dev/net/tun", detail: detail)
        }
    }

    static func tcProbes(_ rtnl: Rtnetlink, _ probes: Set<ProbeID>, into results: inout [ProbeID: ProbeResult]) {
        func attempt(_ p: ProbeID, option: String, what: String, _ body: () throws -> Void) -> ProbeResult {
            do {
                try body()
                return .passed(p, operation(of: p))
            } catch let NetlinkError.kernel(r) {
                return refusal(p, r, option: option, what: what)
            } catch {
                return .failed(
                    p, operation(of: p), errno: (error as? NetlinkError)?.errno, kernelMessage: nil, culprit: option, detail: "\(error)")
            }
        }
        let ingress = attempt(
            .ingressQdisc, option: "CONFIG_NET_SCH_INGRESS (module sch_ingress; needs CONFIG_NET_CLS_ACT)",
            what: "qdisc kind \"ingress\""
        ) {
            try rtnl.qdiscAdd(QdiscSpec(device: .name("chk-veth0"), kind: .ingress))
        }
        results[.ingressQdisc] = ingress
        guard ingress.outcome == .passed else {
            for p in [ProbeID.u32Filter, .mirredAction] where probes.contains(p) {
                results[p] = .skipped(p, operation(of: p), "no ingress qdisc to attach it to (the ingress probe failed)")
            }
            return
        }
        let u32 = attempt(.u32Filter, option: "CONFIG_NET_CLS_U32 (module cls_u32)", what: "classifier \"u32\"") {
            try rtnl.filterAdd(
                FilterSpec(device: .name("chk-veth0"), parent: .ingressQdisc, priority: 1, kind: .u32(.matchAll, actions: [])))
        }
        results[.u32Filter] = u32
        guard u32.outcome == .passed else {
            if probes.contains(.mirredAction) {
                results[.mirredAction] = .skipped(
                    .mirredAction, operation(of: .mirredAction), "no u32 filter to carry it (the u32 probe failed)")
            }
            return
        }
        results[.mirredAction] = attempt(
            .mirredAction, option: "CONFIG_NET_ACT_MIRRED (module act_mirred; needs CONFIG_NET_CLS_ACT)",
            what: "action \"mirred\""
        ) {
            let peer = try rtnl.index(of: .name("chk-veth1"))
            try rtnl.filterAdd(
                FilterSpec(
                    device: .name("chk-veth0"), parent: .ingressQdisc, priority: 2,
                    kind: .u32(.matchAll, actions: [.mirred(MirredAction(.redirect, to: peer))])))
        }
    }

    /// A root htb with one class on the veth's peer, as a rate limit makes it (the class is
    /// where a kernel without htb's rate tables would refuse).
    static func htbProbe(_ rtnl: Rtnetlink) -> ProbeResult {
        let op = operation(of: .htbQdisc)
        let option = "CONFIG_NET_SCH_HTB (module sch_htb)"
        do {
            let handle = TcHandle(major: 0x534e, minor: 0)
            try rtnl.qdiscAdd(QdiscSpec(device: .name("chk-veth1"), kind: .htb(defaultClass: 1), parent: .root, handle: handle))
            try rtnl.htbClassAdd(
                HtbClassSpec(
                    device: .name("chk-veth1"), parent: handle, classID: TcHandle(major: 0x534e, minor: 1), rate: 50_000_000,
                    quantum: 60_000))
            return .passed(.htbQdisc, op)
        } catch let NetlinkError.kernel(r) {
            return refusal(.htbQdisc, r, option: option, what: "qdisc kind \"htb\"")
        } catch {
            return .failed(
                .htbQdisc, op, errno: (error as? NetlinkError)?.errno, kernelMessage: nil, culprit: option, detail: "\(error)")
        }
    }

    /// Runs one `ip link add`, mapping "Unknown device type" to the missing link kind.
    static func linkProbe(_ p: ProbeID, kind: String, option: String, _ body: () throws -> Void) -> ProbeResult {
        do {
            try body()
            return .passed(p, operation(of: p))
        } catch let NetlinkError.kernel(r) {
            return refusal(p, r, option: option, what: "link kind \"\(kind)\"")
        } catch {
            return .failed(
                p, operation(of: p), errno: (error as? NetlinkError)?.errno, kernelMessage: nil, culprit: option, detail: "\(error)")
        }
    }

    /// Maps a kernel refusal to what is missing, from the errno and extended-ACK text the
    /// kernel gives for an unknown link kind, qdisc, classifier or action.
    static func refusal(_ p: ProbeID, _ r: KernelRefusal, option: String, what: String) -> ProbeResult {
        let msg = r.kernelMessage ?? ""
        let missing: Bool
        switch r.errno {
        case EOPNOTSUPP: missing = msg.isEmpty || msg.contains("Unknown device type")
        case ENOENT:
            missing =
                msg.isEmpty || msg.contains("qdisc kind is unknown") || msg.contains("classifier not found")
                || msg.contains("action")
        default: missing = msg.contains("Failed to load TC action module") || msg.contains("TC classifier not found")
        }
        let detail = missing ? "the kernel does not know \(what)" : "the kernel refused \(what)"
        return .failed(p, operation(of: p), errno: r.errno, kernelMessage: r.kernelMessage, culprit: missing ? option : nil, detail: detail)
    }
}
