import Foundation
import NetlinkCodec
import ProcessRunner
import QemuWiring
import SandboxNetwork
import SandnetCore
import Testing

@testable import GuestLab

/// QEMU command lines and console parsing: no root, no QEMU needed.
@Suite struct GuestBootTests {
    func boot(_ arch: Architecture) -> GuestBoot {
        GuestBoot(
            image: GuestImage(architecture: arch, kernel: "/k", initrd: "/i"),
            networkArguments: ["-netdev", "tap,id=n0,fds=7"], inheritedFDs: [7],
            guestDescription: Data(#"{"a" : [1,2]}"#.utf8), probeTargets: ["203.0.113.3:8080", "198.51.100.3:8080"])
    }

    @Test func q35AndVirtWithSerialOnStdioAndNoDefaultDevices() {
        let x = boot(.x86_64).arguments
        let a = boot(.arm64).arguments
        #expect(Array(x.prefix(4)) == ["-M", "q35", "-accel", "tcg"])
        #expect(Array(a.prefix(6)) == ["-M", "virt", "-cpu", "max,pauth-impdef=on", "-accel", "tcg"])
        for args in [x, a] {
            #expect(args.contains("-nodefaults"))
            #expect(args.contains("-no-reboot"))
            #expect(args[args.firstIndex(of: "-serial")! + 1] == "stdio")
            #expect(Array(args.suffix(2)) == ["-netdev", "tap,id=n0,fds=7"])
        }
        #expect(x[x.firstIndex(of: "-append")! + 1] == "console=ttyS0 quiet panic=-1")
        #expect(a[a.firstIndex(of: "-append")! + 1] == "console=ttyAMA0 quiet panic=-1")
    }

    @Test func guestDescriptionTravelsByFwCfgWithCommasEscaped() {
        let args = boot(.x86_64).arguments
        let values = args.indices.filter { args[$0] == "-fw_cfg" }.map { args[$0 + 1] }
        #expect(values.first == #"name=opt/sandnet/guest.json,string={"a" : [1,,2]}"#)
        #expect(
            values.last
                == "name=opt/sandnet/probe,string=targets=\"203.0.113.3:8080 198.51.100.3:8080\"\ntoken_path=/token\nblob_path=/blob\n")
    }

    @Test func skippedModulesGoOnTheKernelCommandLine() {
        var b = boot(.arm64)
        b.skipModules = ["virtio_net", "failover"]
        #expect(b.kernelCommandLine == "console=ttyAMA0 quiet panic=-1 sandnet.skip_modules=virtio_net,failover")
    }

    @Test func consoleMarkersBecomeResultsAndTypedErrors() throws {
        let r = try #require(GuestRunner.Marker("SANDNET-RESULT target=203.0.113.3 token=abc rtt_ms=1.5 bytes=4194304 tput_kbps=900"))
        #expect(r.kind == "RESULT")
        #expect(r.fields["token"] == "abc")
        #expect(r.fields["rtt_ms"] == "1.5")
        let e = try #require(
            GuestRunner.Marker("SANDNET-ERROR kind=module name=virtio_net no NIC with MAC 02:00:00:00:00:01: module virtio_net not loaded"))
        #expect(
            e.error
                == .guestModuleMissing(
                    module: "virtio_net", detail: "name=virtio_net no NIC with MAC 02:00:00:00:00:01: module virtio_net not loaded"))
        #expect("\(e.error)".contains("the guest kernel has no virtio_net module loaded"))
        let c = try #require(GuestRunner.Marker("SANDNET-ERROR kind=config cannot add route default"))
        #expect(c.error == .guestFailed(kind: "config", detail: "cannot add route default"))
        #expect(GuestRunner.Marker("[    2.6] virtio_net virtio0 eth0: renamed") == nil)
    }
}

/// The guest init's JSON reader (busybox awk) against what sandnet really emits.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/busybox"), "busybox-static is not installed: run scripts/setup.sh"))
struct GuestJSONReaderTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/guest/json-flatten.awk").path

    func flatten(_ data: Data) throws -> (status: Int32, lines: [String], stderr: String) {
        let file = NSTemporaryDirectory() + "sandnet-flatten-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
        try data.write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try ProcessRunner.run(["/bin/busybox", "awk", "-f", Self.script, file], timeout: .seconds(30))
        return (r.termination.shellStatus, r.stdoutText.split(separator: "\n").map(String.init), r.stderrText)
    }

    @Test func readsTheGuestDescriptionSandnetEmits() throws {
        let mac = try #require(MACAddress("02:5e:10:00:00:01"))
        let desc = GuestDescription(
            sandbox: "pod-1",
            interfaces: [
                GuestInterface(
                    name: "eth0", mac: mac, mtu: 1450,
                    addresses: [try #require(IPPrefix("198.51.100.2/24")), try #require(IPPrefix("2001:db8::2/64"))],
                    routes: [
                        GuestRoute(
                            destination: "default", family: "inet", gateway: IPAddress("198.51.100.1"),
                            scope: "universe", mtu: 1400)
                    ],
                    neighbours: [], pciRootPort: "sn-rp0", pciRootPortAddress: "00:10.0", pciSlot: "00.0", model: "tcfilter")
            ], dns: ["nameserver 198.51.100.53", "search example.test"])
        let r = try flatten(try desc.encoded())
        #expect(r.status == 0, "\(r.stderr)")
        for line in [
            "version=1", "interfaces.#=1", "interfaces.0.mac=02:5e:10:00:00:01", "interfaces.0.mtu=1450",
            "interfaces.0.addresses.0=198.51.100.2/24", "interfaces.0.addresses.1=2001:db8::2/64",
            "interfaces.0.routes.0.destination=default", "interfaces.0.routes.0.gateway=198.51.100.1",
            "interfaces.0.routes.0.mtu=1400", "interfaces.0.routes.0.scope=universe", "interfaces.0.neighbours.#=0",
            "dns.0=nameserver 198.51.100.53", "dns.1=search example.test", "dns.#=2"
        ] {
            #expect(r.lines.contains(line), "missing \(line) in \(r.lines)")
        }
    }

    @Test func escapedSlashesAndCompactFormattingReadTheSame() throws {
        let r = try flatten(Data(#"{"version":1,"interfaces":[{"addresses":["203.0.113.2\/24"],"name":"e \"x\""}]}"#.utf8))
        #expect(r.status == 0)
        #expect(r.lines.contains("interfaces.0.addresses.0=203.0.113.2/24"))
        #expect(r.lines.contains(#"interfaces.0.name=e "x""#))
    }

    @Test func malformedJSONIsRefusedWithItsOffset() throws {
        let r = try flatten(Data(#"{"version":1,"interfaces":[{"name":"eth0"}"#.utf8))
        #expect(r.status != 0)
        #expect(r.stderr.contains("json-flatten: expected ',' or ']' at offset"))
    }
}
