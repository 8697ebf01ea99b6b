import Foundation
import QemuWiring
import SandnetCore
import TestSupport
import Testing

@testable import GuestLab

/// A guest learns a second NIC over the guest channel (docs/guest-channel.md), not from
/// its boot-time description: it boots knowing only eth0, sandnet sends add-interface for
/// eth1 on the virtio-serial port, the guest applies it and acknowledges, then fetches the
/// run's token from the peer on the second network too.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: namespaces, CNI bridges and taps"))
struct GuestChannelBootTests {
    static let x86Unavailable = ChannelImage.unavailableReason(.x86_64)
    static let armUnavailable = ChannelImage.unavailableReason(.arm64)

    func run(_ arch: Architecture) throws {
        var options = EndToEnd.Options(architecture: arch, model: .tcfilter, nics: 2)
        options.labID = Lab.newID()
        options.channelNICs = 1
        options.timeoutSeconds = 300
        let report = try EndToEnd.run(options, image: try #require(GuestImage.cached(arch)))
        let line = try #require(report.channelLines.first, "the guest printed no SANDNET-CHANNEL line")
        #expect(report.channelLines.count == 1)
        #expect(line.contains("op=add-interface"), "\(line)")
        #expect(line.contains("status=ok"), "\(line)")
        #expect(line.contains("name=eth1"), "\(line)")
        // The second CNI network is 198.51.100.0/24 (Lab): the address came from the channel.
        #expect(line.contains("addrs=198.51.100."), "\(line)")
        #expect(report.results.count == 2)
        #expect(Set(report.results.map(\.token)) == [report.token])
        #expect(Lab.namespacesLeft(id: options.labID!).isEmpty)
        print("guest channel \(arch.unameMachine): \(line)")
    }

    @Test(
        .enabled(if: x86Unavailable == nil, "\(x86Unavailable ?? "")"),
        .enabled(if: ModelProbe.unavailableReason(.tcfilter) == nil, "\(ModelProbe.unavailableReason(.tcfilter) ?? "")"))
    func x86_64GuestAppliesAnAddInterfaceFromTheChannel() throws { try run(.x86_64) }

    @Test(
        .enabled(if: armUnavailable == nil, "\(armUnavailable ?? "")"),
        .enabled(if: ModelProbe.unavailableReason(.tcfilter) == nil, "\(ModelProbe.unavailableReason(.tcfilter) ?? "")"))
    func aarch64GuestAppliesAnAddInterfaceFromTheChannel() throws { try run(.arm64) }
}

/// The channel's QEMU arguments and probe-file lines: no root, no QEMU needed.
@Suite struct GuestBootChannelTests {
    @Test func aChannelAddsTheSerialPortAndTellsTheInitHowManyChangesToServe() throws {
        var boot = GuestBoot(
            image: GuestImage(architecture: .x86_64, kernel: "/k", initrd: "/i"), networkArguments: ["-netdev", "tap,id=n0,fds=7"],
            inheritedFDs: [7], guestDescription: Data("{}".utf8), probeTargets: ["203.0.113.3:8080"])
        #expect(!boot.arguments.contains("virtio-serial-pci,id=sn-vser0"))
        #expect(!boot.probeScript.contains("channel_changes"))
        boot.channelSocket = "/run/x/ch.sock"
        boot.channelChanges = 1
        boot.channelTargets = ["198.51.100.3:8080"]
        let a = boot.arguments
        let i = try #require(a.firstIndex(of: "virtio-serial-pci,id=sn-vser0"))
        #expect(Array(a[(i - 1)...].prefix(6)) == GuestChannelDevice.arguments(socketPath: "/run/x/ch.sock"))
        #expect(boot.probeScript.hasSuffix("channel_changes=1\nchannel_targets=\"198.51.100.3:8080\"\n"))
    }
}
