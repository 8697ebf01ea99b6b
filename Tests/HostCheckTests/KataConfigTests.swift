import Foundation
import HostCheck
import Testing

/// Laid out like Kata's own configuration-qemu.toml: [hypervisor.qemu], [agent.kata], [runtime].
func kataTOML(
    model: String? = "tcfilter", disableNewNetns: Bool? = nil, disableVhostNet: Bool? = nil,
    machine: String = "q35", rootPorts: String? = nil
) -> String {
    var t = """
        [hypervisor.qemu]
        path = "/usr/bin/qemu-system-x86_64"
        kernel = "/usr/share/kata-containers/vmlinux.container"
        machine_type = "\(machine)"
        default_vcpus = 1

        """
    if let r = rootPorts { t += "pcie_root_port = \(r)\n" }
    if let v = disableVhostNet { t += "disable_vhost_net = \(v)\n" }
    t += "\n[agent.kata]\nkernel_modules=[]\n\n[runtime]\n"
    if let m = model { t += "internetworking_model=\"\(m)\"\n" }
    if let d = disableNewNetns { t += "disable_new_netns = \(d)\n" }
    t += "disable_guest_seccomp=true\n"
    return t
}

@Suite("Kata configuration: the settings that decide what the network needs")
struct KataConfigTests {
    @Test("reads model, vhost-net, machine type and root ports from [runtime] and [hypervisor.qemu]")
    func readsSettings() throws {
        let s = try KataSettings.parse(kataTOML(model: "macvtap", disableVhostNet: true, machine: "virt", rootPorts: "4"), path: "t.toml")
        #expect(s.hypervisor == "qemu")
        #expect(s.model == .macvtap)
        #expect(s.disableVhostNet)
        #expect(!s.disableNewNetns)
        #expect(s.machineType == "virt")
        #expect(s.pcieRootPort == 4)
        #expect(s.problems.isEmpty)
    }

    @Test("no internetworking_model means Kata's default, tcfilter")
    func defaultModel() throws {
        #expect(try KataSettings.parse(kataTOML(model: nil), path: "t").model == .tcfilter)
    }

    @Test("disable_new_netns is only valid with none")
    func disableNewNetnsRule() throws {
        let bad = try KataSettings.parse(kataTOML(model: "tcfilter", disableNewNetns: true), path: "t")
        #expect(bad.problems.contains { $0.contains("disable_new_netns") && $0.contains("none") })
        let good = try KataSettings.parse(kataTOML(model: "none", disableNewNetns: true), path: "t")
        #expect(good.problems.isEmpty)
    }

    @Test("an unknown model and a negative root port count are problems; broken TOML is an error naming the line")
    func invalid() throws {
        let s = try KataSettings.parse(kataTOML(model: "bridged", rootPorts: "-1"), path: "t")
        #expect(s.model == nil)
        #expect(s.problems.contains { $0.contains("Invalid internetworking model") })
        #expect(s.problems.contains { $0.contains("pcie_root_port") })
        #expect(throws: KataConfigError.self) { try KataSettings.parse("[runtime\ninternetworking_model=", path: "t") }
    }

    @Test("the check decides by the configured model and fails on an invalid configuration")
    func checkUsesModel() throws {
        let d = try RealKernels.debian("amd64")
        let path = NSTemporaryDirectory() + "sandnet-kata-\(getpid()).toml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try d.config.removing("MACVLAN", dependants: ["MACVTAP", "TAP", "IPVTAP"])
        let cpath = try RealKernels.write(config)
        defer { try? FileManager.default.removeItem(atPath: cpath) }
        func run(_ toml: String) throws -> CheckReport {
            try toml.write(toFile: path, atomically: true, encoding: .utf8)
            return HostCheck.run(
                CheckOptions(
                    kernelConfigPath: cpath, kataConfigPath: path, liveProbes: false,
                    release: d.release, machine: d.machine, moduleRoot: d.root))
        }
        let tc = try run(kataTOML(model: "tcfilter"))
        #expect(tc.models.filter(\.checked).map(\.model) == [.tcfilter])
        #expect(tc.passed) // macvtap is missing, but tcfilter is what runs
        #expect(!(try run(kataTOML(model: "macvtap"))).passed)
        #expect(!(try run(kataTOML(model: "tcfilter", disableNewNetns: true))).passed)
    }
}

@Suite("Kata configuration: network queues and rate limiters")
struct KataNetworkTuningTests {
    @Test func readsNetworkQueuesAndRateLimiters() throws {
        let t = kataTOML().replacingOccurrences(
            of: "default_vcpus = 1\n",
            with: "default_vcpus = 1\nnetwork_queues = 4\nrx_rate_limiter_max_rate = 50000000\ntx_rate_limiter_max_rate = 0\n")
        let s = try KataSettings.parse(t, path: "t.toml")
        #expect(s.networkQueues == 4)
        #expect(s.rxRateLimiterMaxRate == 50_000_000)
        #expect(s.txRateLimiterMaxRate == nil, "0 is unlimited in Kata")
        #expect(s.problems.isEmpty)
    }

    @Test func absentKeysAreNoTuningAndBadValuesAreProblems() throws {
        let plain = try KataSettings.parse(kataTOML(), path: "t.toml")
        #expect(plain.networkQueues == nil && plain.rxRateLimiterMaxRate == nil && plain.txRateLimiterMaxRate == nil)
        let bad = try KataSettings.parse(
            kataTOML().replacingOccurrences(
                of: "default_vcpus = 1\n", with: "default_vcpus = 1\nnetwork_queues = 999\nrx_rate_limiter_max_rate = \"50mbit\"\n"),
            path: "t.toml")
        #expect(bad.problems.contains { $0.contains("network_queues") })
        #expect(bad.problems.contains { $0.contains("rx_rate_limiter_max_rate") })
    }
}
