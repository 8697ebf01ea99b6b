import CNI
import Foundation
import GuestLab
import NetlinkSocket
import QemuWiring
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

/// Real guests on real parts: CNI-built namespaces, sandnet's attach, QEMU (TCG) booting
/// the project's Debian guest, a fresh token fetched from the peer and reported back,
/// and everything checked gone afterwards. One guest at a time: TCG is CPU-bound.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: namespaces, CNI bridges and taps"))
struct EndToEndTests {
    static let x86Unavailable = GuestImage.unavailableReason(.x86_64)
    static let armUnavailable = GuestImage.unavailableReason(.arm64)

    /// Runs one cell and checks what the issue asks: the token came back over every NIC and nothing was left.
    func runCell(_ arch: Architecture, _ model: NetworkModel, nics: Int = 1) throws {
        let image = try #require(GuestImage.cached(arch))
        var options = EndToEnd.Options(architecture: arch, model: model, nics: nics)
        options.labID = Lab.newID()
        options.timeoutSeconds = 240
        let report = try EndToEnd.run(options, image: image)
        #expect(report.results.count == nics)
        #expect(Set(report.results.map(\.token)) == [report.token])
        #expect(report.token.count == 32)
        #expect(report.results.allSatisfy { $0.bytes == Lab.blobSize })
        #expect(!report.checked.isEmpty)
        #expect(Lab.namespacesLeft(id: options.labID!).isEmpty)
        print(
            "e2e \(arch.unameMachine) \(arch.machineType) \(model) nics=\(nics): boot-to-network \(String(format: "%.1f", report.bootToNetworkSeconds)) s, "
                + report.results.map { "\($0.target) rtt \($0.rttMilliseconds) ms \($0.throughputKbps) kbit/s" }.joined(separator: "; "))
    }

    @Test(
        .enabled(if: x86Unavailable == nil, "\(x86Unavailable ?? "")"),
        .enabled(if: ModelProbe.unavailableReason(.tcfilter) == nil, "\(ModelProbe.unavailableReason(.tcfilter) ?? "")"))
    func x86_64OnQ35WithTcfilter() throws { try runCell(.x86_64, .tcfilter) }

    @Test(
        .enabled(if: x86Unavailable == nil, "\(x86Unavailable ?? "")"),
        .enabled(if: ModelProbe.unavailableReason(.macvtap) == nil, "\(ModelProbe.unavailableReason(.macvtap) ?? "")"))
    func x86_64OnQ35WithMacvtap() throws { try runCell(.x86_64, .macvtap) }

    @Test(
        .enabled(if: armUnavailable == nil, "\(armUnavailable ?? "")"),
        .enabled(if: ModelProbe.unavailableReason(.tcfilter) == nil, "\(ModelProbe.unavailableReason(.tcfilter) ?? "")"))
    func aarch64OnVirtWithTcfilter() throws { try runCell(.arm64, .tcfilter) }

    @Test(
        .enabled(if: armUnavailable == nil, "\(armUnavailable ?? "")"),
        .enabled(if: ModelProbe.unavailableReason(.macvtap) == nil, "\(ModelProbe.unavailableReason(.macvtap) ?? "")"))
    func aarch64OnVirtWithMacvtap() throws { try runCell(.arm64, .macvtap) }

    /// Two CNI networks, two NICs on two root ports; the guest reaches the peer over each.
    @Test(
        .enabled(if: armUnavailable == nil, "\(armUnavailable ?? "")"),
        .enabled(if: ModelProbe.unavailableReason(.tcfilter) == nil, "\(ModelProbe.unavailableReason(.tcfilter) ?? "")"))
    func aarch64OnVirtWithTwoNICs() throws { try runCell(.arm64, .tcfilter, nics: 2) }

    @Test(
        .enabled(if: x86Unavailable == nil, "\(x86Unavailable ?? "")"),
        .enabled(if: ModelProbe.unavailableReason(.tcfilter) == nil, "\(ModelProbe.unavailableReason(.tcfilter) ?? "")"))
    func guestWithoutVirtioNetNamesTheModuleAndLeavesNothing() throws {
        var options = EndToEnd.Options(architecture: .x86_64, model: .tcfilter)
        options.labID = Lab.newID()
        options.skipModules = ["virtio_net"]
        options.timeoutSeconds = 240
        do {
            _ = try EndToEnd.run(options, image: try #require(GuestImage.cached(.x86_64)))
            Issue.record("a guest without virtio_net reached the peer")
        } catch let GuestLabError.guestModuleMissing(module, _) {
            #expect(module == "virtio_net")
        }
        #expect(Lab.namespacesLeft(id: options.labID!).isEmpty)
    }

    @Test(
        .enabled(if: x86Unavailable == nil, "\(x86Unavailable ?? "")"),
        .enabled(if: ModelProbe.unavailableReason(.tcfilter) == nil, "\(ModelProbe.unavailableReason(.tcfilter) ?? "")"))
    func qemuThatFailsToStartReportsItsStderrAndLeavesNothing() throws {
        var options = EndToEnd.Options(architecture: .x86_64, model: .tcfilter)
        options.labID = Lab.newID()
        options.extraQemuArguments = ["-device", "sandnet-no-such-device"]
        do {
            _ = try EndToEnd.run(options, image: try #require(GuestImage.cached(.x86_64)))
            Issue.record("QEMU started with a nonexistent device")
        } catch let GuestLabError.qemuFailedToStart(_, status, stderr) {
            #expect(status == 1)
            #expect(stderr.contains("sandnet-no-such-device"), "\(stderr)")
        }
        #expect(Lab.namespacesLeft(id: options.labID!).isEmpty)
    }
}

/// Whether sandnet's attach can plumb an endpoint with a model on this kernel: a real
/// attach and detach of a veth endpoint in a throwaway namespace.
enum ModelProbe {
    static let tcfilter = probe(.tcfilter)
    static let macvtap = probe(.macvtap)

    static func unavailableReason(_ model: NetworkModel) -> String? {
        switch model {
        case .tcfilter: return tcfilter
        case .macvtap: return macvtap
        case .none: return nil
        }
    }

    private static func probe(_ model: NetworkModel) -> String? {
        guard TestEnvironment.isRoot else { return "needs root" }
        let dir = NSTemporaryDirectory() + "sandnet-probe-\(getpid())-\(model)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            return try TestNamespace.with(prefix: "sn-e2eprobe") { ns -> String? in
                try ns.ip("link", "add", "eth0", "type", "veth", "peer", "name", "peer0")
                try ns.ip("link", "set", "eth0", "up")
                try ns.ip("addr", "add", "203.0.113.2/24", "dev", "eth0")
                let store = JournalStore(directory: dir)
                let r = try SandboxAttach.attach(AttachSettings(sandbox: "probe", namespace: ns.namespace.path, model: model), store: store)
                r.closeDescriptors()
                _ = try SandboxDetach.detach(sandbox: "probe", store: store)
                return nil
            }
        } catch {
            return "sandnet cannot attach with model \(model) here: \(error)"
        }
    }
}
