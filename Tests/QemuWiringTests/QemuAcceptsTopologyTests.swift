import Foundation
import Synchronization
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
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proc.arguments = [a.qemuBinary] + args
        let input = Pipe(), output = Pipe()
        proc.standardInput = input; proc.standardOutput = output; proc.standardError = output
        try proc.run()
        input.fileHandleForWriting.write(Data("info pci\nquit\n".utf8))
        // Bounded: a QEMU that ignores `quit` is killed and fails the test. (This target
        // does not link TestSupport, whose TestEnvironment.collect does the same.)
        let read = DispatchSemaphore(value: 0)
        let data = Mutex(Data())
        DispatchQueue.global().async { let d = output.fileHandleForReading.readDataToEndOfFile(); data.withLock { $0 = d }; read.signal() }
        let limit: TimeInterval = 60
        if read.wait(timeout: .now() + limit) == .timedOut {
            kill(proc.processIdentifier, SIGKILL)
            throw QemuRunError(description: "\(a.qemuBinary) did not answer `info pci` and `quit` within \(Int(limit)) s; killed it")
        }
        let deadline = Date() + 10
        while proc.isRunning && Date() < deadline { usleep(10_000) }
        if proc.isRunning {
            kill(proc.processIdentifier, SIGKILL)
            throw QemuRunError(description: "\(a.qemuBinary) closed its output but did not exit within 10 s; killed it")
        }
        proc.waitUntilExit()
        return (proc.terminationStatus, String(decoding: data.withLock { $0 }, as: UTF8.self))
    }

    @Test(.enabled(if: hasQemu(.x86_64), "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"))
    func q35AcceptsGeneratedTopology() throws { try check(.x86_64) }

    @Test(.enabled(if: hasQemu(.arm64), "qemu-system-aarch64 is not installed (apt-get install qemu-system-arm)"))
    func virtAcceptsGeneratedTopology() throws { try check(.arm64) }

    func check(_ a: Architecture) throws {
        let macs = (1...3).map { MACAddress("02:00:00:00:00:0\($0)")! }
        let plan = try QemuNetworkPlan(architecture: a, nics: macs.enumerated().map { QemuNIC(id: "sn\($0.offset)", mac: $0.element, queueFDs: [3, 4]) },
                                       sparePorts: 13)
        let (status, out) = try monitorPCI(a, plan)
        #expect(status == 0, "\(out)")
        #expect(!out.lowercased().contains("error"), "\(out)")
        for port in plan.topology.rootPorts {
            #expect(out.contains("Bus  0, device  \(port.device), function \(port.function):"), "root port \(port.id) missing: \(out)")
        }
        #expect(out.components(separatedBy: "PCI bridge").count - 1 == 16)
    }
}

struct QemuRunError: Error, CustomStringConvertible {
    var description: String
}
