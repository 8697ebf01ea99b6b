import Foundation
import QemuWiring
import SandboxNetwork
import SandnetCore
import TapDevices

#if canImport(Glibc)
    import Glibc
#endif

/// The sandbox domain on the endpoints and devices the host kernel may lack: ipvlan and
/// vlan endpoints found and attached, and /dev/vhost-net descriptors handed to QEMU by the
/// tcfilter and macvtap models.
public enum SandboxChecks {
    /// Discovery classifies an ipvlan or vlan endpoint as what it is, and as an endpoint.
    public static func classifies(_ kind: LabPod.EndpointKind) throws {
        var d = Differences("discovery classifies a \(kind.rawValue) endpoint")
        try LabPod.with { p in
            try p.addEndpoint("eth0", kind)
            let e = try d.require(try Discovery.scan(p.pod.namespace).links.first { $0.name == "eth0" }, "the scan does not list eth0")
            d.expect(e.linkClass.rawValue == kind.rawValue, "eth0 classified as \(e.linkClass)")
            d.expect(e.isEndpoint, "eth0 not counted as an endpoint")
            d.expect(e.reason == nil, "eth0 has a reason: \(e.reason ?? "")")
            // The lower device stays in the lab's host namespace, as a CNI's parent does.
            d.expect(e.lower?.hasSuffix("in another namespace") == true, "eth0's lower device: \(e.lower ?? "none")")
            if kind == .vlan { d.expect(e.vlanID == 100, "eth0's vlan id: \(e.vlanID.map(String.init) ?? "none")") }
        }
        try d.finish()
    }

    /// Attaches `model` to one `kind` endpoint with `vcpus` queues, checks QEMU's arguments
    /// (and, with `vhost`, that every queue has a /dev/vhost-net descriptor that QEMU is told
    /// of), detaches, and expects the pod as `ip`/`tc` showed it before.
    public static func attachAndDetach(_ kind: LabPod.EndpointKind, model: NetworkModel, vcpus: Int = 2, vhost: Bool) throws {
        var d = Differences("\(model) on a \(kind.rawValue) endpoint\(vhost ? " with vhost-net" : "")")
        try LabPod.with { p in
            try p.addEndpoint("eth0", kind)
            let before = try p.snapshot()
            let state = NSTemporaryDirectory() + "sandnet-lab-state-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { try? FileManager.default.removeItem(atPath: state) }
            let store = JournalStore(directory: state)
            let r = try SandboxAttach.attach(
                AttachSettings(sandbox: "lab1", namespace: p.pod.namespace.path, model: model, vcpus: vcpus), store: store)
            do {
                defer { r.closeDescriptors() }
                let plan = try d.require(r.plan, "no QEMU plan for model \(model)")
                let nic = try d.require(plan.placements.first?.nic, "no NIC in the plan")
                d.expect(plan.placements.count == 1, "\(plan.placements.count) NICs for one endpoint")
                d.expect(nic.queueFDs.count == vcpus, "\(nic.queueFDs.count) queues for \(vcpus) vCPUs")
                d.expect(r.summary.qemuArguments == plan.arguments, "the summary's QEMU arguments are not the plan's")
                let netdev = plan.placements[0].netdevArgument
                let fds = "fds=\(nic.queueFDs.map(String.init).joined(separator: ":"))"
                d.expect(netdev.contains(fds), "netdev \(netdev) lacks \(fds)")
                for fd in nic.queueFDs { d.expect(fcntl(fd, F_GETFD) >= 0, "queue descriptor \(fd) is not open") }
                if vhost {
                    d.expect(nic.vhostFDs.count == nic.queueFDs.count, "\(nic.vhostFDs.count) vhost descriptors for \(vcpus) queues")
                    for fd in nic.vhostFDs {
                        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) ?? "?"
                        d.expect(target == VhostNet.path, "vhost descriptor \(fd) is \(target), not \(VhostNet.path)")
                    }
                    let vhostArg = "vhost=on,vhostfds=\(nic.vhostFDs.map(String.init).joined(separator: ":"))"
                    d.expect(netdev.hasSuffix(vhostArg), "netdev \(netdev) does not end with \(vhostArg)")
                    d.expect(r.summary.endpoints.first?.vhost == true, "the summary does not say vhost")
                    d.expect(Set(plan.inheritedFDs) == Set(nic.queueFDs + nic.vhostFDs), "QEMU would not inherit every vhost descriptor")
                } else {
                    d.expect(nic.vhostFDs.isEmpty && !netdev.contains("vhost"), "vhost descriptors without vhost-net: \(netdev)")
                }
            }
            _ = try SandboxDetach.detach(sandbox: "lab1", store: store)
            let after = try p.snapshot()
            d.expect(after == before, "the pod after detach differs from before attach: \(LabPod.firstDifference(before, after))")
        }
        try d.finish()
    }

    /// macvtap on an ipvlan endpoint is refused, saying why, before any change to the pod.
    public static func macvtapOnIpvlanIsRefused() throws {
        var d = Differences("macvtap on an ipvlan endpoint is refused with the reason")
        try LabPod.with { p in
            try p.addEndpoint("eth0", .ipvlan)
            let before = try p.snapshot()
            let state = NSTemporaryDirectory() + "sandnet-lab-state-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { try? FileManager.default.removeItem(atPath: state) }
            do {
                let r = try SandboxAttach.attach(
                    AttachSettings(sandbox: "lab1", namespace: p.pod.namespace.path, model: .macvtap), store: JournalStore(directory: state)
                )
                r.closeDescriptors()
                d.expect(false, "macvtap on an ipvlan was attached")
            } catch {
                d.expect("\(error)".contains("shares its parent's MAC"), "the refusal does not give the reason: \(error)")
            }
            let after = try p.snapshot()
            d.expect(after == before, "the refused attach changed the pod: \(LabPod.firstDifference(before, after))")
        }
        try d.finish()
    }

    /// /dev/vhost-net opens and VHOST_SET_OWNER succeeds.
    public static func vhostNetCanBeClaimed() throws {
        var d = Differences("vhost-net can be claimed")
        d.expect(VhostNet.unavailableReason() == nil, VhostNet.unavailableReason() ?? "")
        try d.finish()
    }
}
