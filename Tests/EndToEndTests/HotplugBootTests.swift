import Foundation
import GuestLab
import SandnetCore
import TestSupport
import Testing

/// Issue 15's end to end: a booted guest (TCG) with one NIC and a spare root port, a
/// second CNI network added while it runs, `sandnet watch` plugging it, the guest
/// configuring it from the channel and fetching the run's token over it.
@Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: namespaces, CNI bridges and taps"))
struct HotplugBootTests {
    // The image must be built from this tree's init (channel_serve, channel_after).
    static let x86Unavailable = ChannelImage.unavailableReason(.x86_64)
    static let armUnavailable = ChannelImage.unavailableReason(.arm64)
    static var sandnet: String {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for c in [dir, dir.deletingLastPathComponent()]
        where FileManager.default.isExecutableFile(atPath: c.appendingPathComponent("sandnet").path) {
            return c.appendingPathComponent("sandnet").path
        }
        return dir.appendingPathComponent("sandnet").path
    }
    static var sandnetMissing: Bool { !FileManager.default.isExecutableFile(atPath: sandnet) }

    func run(_ arch: Architecture, _ model: NetworkModel) throws {
        let r = try HotplugEndToEnd.run(
            architecture: arch, model: model, sandnet: Self.sandnet, image: try #require(GuestImage.cached(arch)))
        let line = try #require(r.channelLine, "the guest printed no SANDNET-CHANNEL line; watcher: \(r.watcherLog)")
        #expect(line.contains("op=add-interface") && line.contains("status=ok") && line.contains("name=eth1"), "\(line)")
        #expect(r.results.count == 2 && Set(r.results.map(\.token)) == [r.token])
        #expect(r.watcherLog.contains("plugged"), "\(r.watcherLog)")
        // CNI DEL: the watcher unplugged it, the guest saw it go, the journal has no plug left.
        let gone = try #require(r.unpluggedLine, "the guest never saw the NIC go; watcher: \(r.watcherLog)")
        #expect(gone.contains("name=eth1") && !(gone.components(separatedBy: "nics=").last ?? "eth1").contains("eth1"), "\(gone)")
        #expect(r.watcherLog.contains("unplugged"), "\(r.watcherLog)")
        #expect(r.pluggedAfterDelete == 0, "\(r.watcherLog)")
        print(
            "hotplug \(arch.unameMachine) \(model): CNI ADD -> guest configured \(r.addToConfigured.map { "\($0)" } ?? "?"), "
                + "-> token over the new NIC \(r.addToReached.map { "\($0)" } ?? "?"); CNI DEL -> NIC gone in the guest "
                + "\(r.deleteToUnplugged.map { "\($0)" } ?? "?"); \(line); \(gone)")
    }

    @Test(.enabled(if: x86Unavailable == nil, "\(x86Unavailable ?? "")"), .enabled(if: !sandnetMissing, "the sandnet binary is not built"))
    func x86_64TcfilterWatcherPlugsASecondNetwork() throws { try run(.x86_64, .tcfilter) }

    @Test(.enabled(if: x86Unavailable == nil, "\(x86Unavailable ?? "")"), .enabled(if: !sandnetMissing, "the sandnet binary is not built"))
    func x86_64MacvtapWatcherPlugsASecondNetwork() throws { try run(.x86_64, .macvtap) }

    @Test(.enabled(if: armUnavailable == nil, "\(armUnavailable ?? "")"), .enabled(if: !sandnetMissing, "the sandnet binary is not built"))
    func aarch64TcfilterWatcherPlugsASecondNetwork() throws { try run(.arm64, .tcfilter) }

    @Test(.enabled(if: armUnavailable == nil, "\(armUnavailable ?? "")"), .enabled(if: !sandnetMissing, "the sandnet binary is not built"))
    func aarch64MacvtapWatcherPlugsASecondNetwork() throws { try run(.arm64, .macvtap) }

    /// Both networks at boot; CNI DEL of the second while the guest runs: the watcher takes
    /// out the NIC the attach made for it, the guest sees it go, and its host side is undone
    /// alone (the journal marks it unplugged, so detach does not undo it again).
    func runBootNIC(_ arch: Architecture, _ model: NetworkModel) throws {
        let r = try HotplugEndToEnd.run(
            architecture: arch, model: model, sandnet: Self.sandnet, image: try #require(GuestImage.cached(arch)),
            secondNetworkAtBoot: true)
        #expect(r.results.count == 2 && Set(r.results.map(\.token)) == [r.token])
        let gone = try #require(r.unpluggedLine, "the guest never saw the NIC go; watcher: \(r.watcherLog)")
        #expect(gone.contains("name=eth1") && !(gone.components(separatedBy: "nics=").last ?? "eth1").contains("eth1"), "\(gone)")
        #expect(r.watcherLog.contains("unplugged an attached endpoint's NIC"), "\(r.watcherLog)")
        #expect(r.attachedNICStatesAfterDelete == ["eth0=attached", "eth1=unplugged"], "\(r.watcherLog)")
        #expect(r.pluggedAfterDelete == 0, "\(r.watcherLog)")
        print(
            "hotplug \(arch.unameMachine) \(model): boot NIC, CNI DEL -> NIC gone in the guest \(r.deleteToUnplugged.map { "\($0)" } ?? "?"); \(gone)"
        )
    }

    @Test(.enabled(if: x86Unavailable == nil, "\(x86Unavailable ?? "")"), .enabled(if: !sandnetMissing, "the sandnet binary is not built"))
    func x86_64TcfilterWatcherUnplugsABootNIC() throws { try runBootNIC(.x86_64, .tcfilter) }

    @Test(.enabled(if: x86Unavailable == nil, "\(x86Unavailable ?? "")"), .enabled(if: !sandnetMissing, "the sandnet binary is not built"))
    func x86_64MacvtapWatcherUnplugsABootNIC() throws { try runBootNIC(.x86_64, .macvtap) }

    @Test(.enabled(if: armUnavailable == nil, "\(armUnavailable ?? "")"), .enabled(if: !sandnetMissing, "the sandnet binary is not built"))
    func aarch64TcfilterWatcherUnplugsABootNIC() throws { try runBootNIC(.arm64, .tcfilter) }

    @Test(.enabled(if: armUnavailable == nil, "\(armUnavailable ?? "")"), .enabled(if: !sandnetMissing, "the sandnet binary is not built"))
    func aarch64MacvtapWatcherUnplugsABootNIC() throws { try runBootNIC(.arm64, .macvtap) }
}
