import Foundation
import ProcessRunner
import QemuWiring
import SandnetCore
import Testing

/// Starts the real QEMU (stopped, no firmware run) with the generated root ports and NICs
/// and asks its monitor for the PCI tree: QEMU must accept every argument and place each
/// root port where the plan says. The tap backends are swapped for hub ports, which need
/// no descriptors; the `-device` arguments are the generated ones, unchanged.
@Suite struct QemuAcceptsTopologyTests {
    static func hasQemu(_ a: Architecture) -> Bool {
        ["/usr/bin", "/usr/local/bin"].contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(a.qemuBinary)") }
    }

    func monitorPCI(_ a: Architecture, _ plan: QemuNetworkPlan) throws -> (status: Int32, output: String) {
        var args = ["-M", a.machineType, "-nodefaults", "-display", "none", "-S", "-monitor", "stdio"] + plan.topology.arguments
        for p in plan.placements {
            args += ["-netdev", "hubport,id=\(p.nic.id),hubid=0", "-device", p.deviceArgument]
        }
        // -S: no guest code runs; the monitor answers and quits in well under a minute.
        let r = try ProcessRunner.run([a.qemuBinary] + args, input: Array("info pci\nquit\n".utf8), timeout: .seconds(60))
        return (r.termination.shellStatus, r.stdoutText + r.stderrText)
    }

    @Test(.enabled(if: hasQemu(.x86_64), "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"))
    func q35AcceptsGeneratedTopology() throws { try check(.x86_64) }

    @Test(.enabled(if: hasQemu(.arm64), "qemu-system-aarch64 is not installed (apt-get install qemu-system-arm)"))
    func virtAcceptsGeneratedTopology() throws { try check(.arm64) }

    func check(_ a: Architecture) throws {
        let macs = (1...3).map { MACAddress("02:00:00:00:00:0\($0)")! }
        let plan = try QemuNetworkPlan(
            architecture: a, nics: macs.enumerated().map { QemuNIC(id: "sn\($0.offset)", mac: $0.element, queueFDs: [3, 4]) },
            sparePorts: 13)
        let (status, out) = try monitorPCI(a, plan)
        #expect(status == 0, "\(out)")
        #expect(!out.lowercased().contains("error"), "\(out)")
        for port in plan.topology.rootPorts {
            #expect(out.contains("Bus  0, device  \(port.device), function \(port.function):"), "root port \(port.id) missing: \(out)")
        }
        #expect(out.components(separatedBy: "PCI bridge").count - 1 == 16)
    }

    /// The largest topology `maximumRootPorts(for:)` allows is one QEMU accepts in full.
    @Test(
        .enabled(if: hasQemu(.x86_64) && hasQemu(.arm64), "qemu-system-x86_64 or -aarch64 is not installed"),
        arguments: [Architecture.x86_64, .arm64])
    func theMachineLimitIsAccepted(_ a: Architecture) throws {
        let limit = PCIeTopology.maximumRootPorts(for: a)
        let plan = try QemuNetworkPlan(
            architecture: a, nics: [QemuNIC(id: "sn0", mac: MACAddress("02:00:00:00:00:01")!, queueFDs: [3])], sparePorts: limit - 1)
        let (status, out) = try monitorPCI(a, plan)
        #expect(status == 0, "\(out.suffix(400))")
        #expect(out.components(separatedBy: "PCI bridge").count - 1 == limit)
    }
}
