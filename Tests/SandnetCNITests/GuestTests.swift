import Foundation
import GuestLab
import ProcessRunner
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

/// A guest on the chain's tap, as a VMM using tc-redirect-tap's result would run it: QEMU in
/// the pod's namespace opens the tap by name with two queues, the guest configures itself
/// from the CNI result (both families), and reaches the ptp peer in the host namespace.
/// One boot per architecture carries every assertion that needs a running guest.
@Suite(
    .serialized,
    .enabled(if: TestEnvironment.isRoot, "needs root: CNI plugins create veths, taps and filters"),
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: "/usr/lib/cni/ptp"),
        "containernetworking-plugins is not installed (/usr/lib/cni/ptp): run scripts/setup.sh"),
    .enabled(if: FileManager.default.isExecutableFile(atPath: ChainRig.binary), "sandnet-cni is not built (swift build --build-tests)"))
struct GuestTests {
    @Test(
        .enabled(if: GuestImage.cached(.x86_64) != nil, "\(GuestImage.unavailableReason(.x86_64) ?? "")"),
        .timeLimit(.minutes(10)))
    func x86_64GuestOnTheCNITap() throws { try bootOnTheChain(.x86_64) }

    @Test(
        .enabled(if: GuestImage.cached(.arm64) != nil, "\(GuestImage.unavailableReason(.arm64) ?? "")"),
        .timeLimit(.minutes(10)))
    func aarch64GuestOnTheCNITap() throws { try bootOnTheChain(.arm64) }

    func bootOnTheChain(_ arch: Architecture) throws {
        let queues = 2
        try ChainRig.with(sandnet: ["queues": queues]) { rig in
            let before = try rig.snapshot()
            let result = try rig.add()
            var deleted = false
            defer { if !deleted { try? rig.delete(result) } }
            let tapName = try #require(ChainRigResult.tapName(result, containerID: rig.containerID))
            let description = try ChainRigResult.guestDescription(result, containerID: rig.containerID)
            let guestAddresses = description.interfaces[0].addresses.map(\.address.description)
            #expect(guestAddresses.count == 2)
            let image = try #require(GuestImage.cached(arch))
            let peer = try Peer(host: rig.host.name, directory: rig.directory)
            defer { peer.stop() }

            var boot = GuestBoot(
                image: image,
                networkArguments: [
                    "-netdev", "tap,id=n0,ifname=\(tapName),script=no,downscript=no,vhost=off,queues=\(queues)",
                    "-device", "virtio-net-pci,netdev=n0,mac=\(description.interfaces[0].mac),mq=on,vectors=\(2 * queues + 2)"
                ],
                inheritedFDs: [], guestDescription: try description.encoded(), probeTargets: ["203.0.113.1:\(Peer.port)"])
            boot.launcher = ["ip", "netns", "exec", rig.pod.name]
            // One vCPU per queue: the guest's virtio-net then enables every queue pair.
            boot.cpus = queues

            // While the guest runs: the tap's queues are QEMU's, CHECK passes, and the host
            // side reaches the guest over both families.
            var duringRun: [String] = []
            var attachedQueues: Int?
            var disabledQueues: Int?
            var delWhileRunning: Int?
            var tapAfterEarlyDel = 0
            var checkWhileRunning: [String: Any]? = ["msg": "not run"]
            var pinged: [String: Bool] = [:]
            let report = try GuestRunner.run(boot) { progress in
                guard case .networkUp = progress else { return }
                do {
                    let tap = try rig.pod.ipJSON("-d", "link", "show", "dev", tapName).first
                    let info = (tap?["linkinfo"] as? [String: Any])?["info_data"] as? [String: Any]
                    attachedQueues = info?["numqueues"] as? Int
                    disabledQueues = info?["numdisabled"] as? Int
                    checkWhileRunning = try rig.check(result)
                    // DEL while QEMU holds the tap's queues: refused with "try again later", nothing touched.
                    let early = try rig.invoke("DEL", rig.plugins[1], prevResult: result)
                    delWhileRunning = early.object?["code"] as? Int
                    tapAfterEarlyDel = try rig.pod.ipJSON("link", "show", "dev", tapName).count
                    for address in guestAddresses { pinged[address] = Self.ping(address, from: rig.host.name) }
                } catch {
                    duringRun.append("\(error)")
                }
            }
            #expect(duringRun.isEmpty, "\(duringRun)")
            #expect(
                attachedQueues == queues && disabledQueues == 0,
                "the tap \(tapName) has \(attachedQueues.map { "\($0)" } ?? "no") queues attached, \(disabledQueues.map { "\($0)" } ?? "?") disabled"
            )
            #expect(delWhileRunning == 11, "DEL with QEMU running answered code \(delWhileRunning.map { "\($0)" } ?? "none")")
            #expect(tapAfterEarlyDel == 1)
            #expect(checkWhileRunning == nil, "CHECK with the guest running: \(checkWhileRunning ?? [:])")
            for address in guestAddresses { #expect(pinged[address] == true, "the host namespace got no echo reply from \(address)") }
            #expect(report.results.count == 1)
            #expect(report.results.first?.token == peer.token)
            #expect(report.results.first?.bytes == Peer.blobSize)
            print(
                "\(arch) guest on sandnet-cni tap \(tapName) (\(queues) queues): network up after \(report.bootToNetworkSeconds) s, "
                    + "rtt \(report.results.first?.rttMilliseconds ?? 0) ms, \(report.results.first?.throughputKbps ?? 0) kbit/s")

            #expect(try rig.check(result) == nil)
            try rig.delete(result)
            deleted = true
            for (key, value) in before { #expect(try rig.snapshot()[key] == value, "\(key) differs after DEL") }
            #expect(rig.allocations().isEmpty)
            #expect(rig.journals().isEmpty)
        }
    }

    /// Bounded: the guest's IPv6 address is tentative (DAD) for a moment after NET-UP.
    static func ping(_ address: String, from namespace: String) -> Bool {
        for _ in 0..<10 {
            let r = try? ProcessRunner.run(
                ["ip", "netns", "exec", namespace, "busybox", "ping", "-c", "1", "-W", "2", address], timeout: .seconds(10))
            if r?.succeeded == true { return true }
        }
        return false
    }
}

/// busybox httpd in the host namespace (the ptp peer): /token, /blob.
final class Peer {
    static let port = 8080
    static let blobSize = 1 << 20
    let token = (0..<4).map { _ in String(format: "%08x", UInt32.random(in: 0...UInt32.max)) }.joined()
    let process: RunningProcess

    init(host: String, directory: String) throws {
        let www = "\(directory)/www"
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        try Data(token.utf8).write(to: URL(fileURLWithPath: "\(www)/token"))
        try Data((0..<Self.blobSize).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: "\(www)/blob"))
        process = try ProcessRunner.spawn(["ip", "netns", "exec", host, "busybox", "httpd", "-f", "-p", "\(Self.port)", "-h", www])
        for _ in 0..<100 {
            if let out = try? TestEnvironment.sh(["ip", "netns", "exec", host, "busybox", "netstat", "-ltn"]),
                out.contains(":\(Self.port) ")
            {
                return
            }
            usleep(50_000)
        }
        _ = process.kill()
        throw TestFailure("busybox httpd did not listen on port \(Self.port) in \(host)")
    }

    func stop() { _ = process.kill() }
}
