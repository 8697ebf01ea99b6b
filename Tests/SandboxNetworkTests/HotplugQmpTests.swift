import Foundation
import ProcessRunner
import QemuWiring
import Qmp
import SandboxNetwork
import SandnetCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A QEMU paused before its first instruction (`-S`, no guest) with a sandbox's root
/// ports and a QMP socket: it takes device_add and netdev_add as a running VM does, and
/// never completes a PCIe hot-unplug (no guest acknowledges it). A QMP monitor serves
/// one client at a time, so the test looks through a second one (`testQmpPath`).
final class PausedSandboxQemu {
    let directory: String
    let qmpPath: String
    let testQmpPath: String
    let process: RunningProcess

    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64") }

    /// `launcher`: what execs QEMU, e.g. `sandnet attach … --exec --`, which appends the
    /// sandbox's root ports and boot NICs and hands QEMU their descriptors.
    init(rootPorts: [String], launcher: [String] = []) throws {
        directory = "/tmp/sandnet-hp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        qmpPath = "\(directory)/qmp.sock"
        testQmpPath = "\(directory)/test-qmp.sock"
        process = try ProcessRunner.spawn(
            launcher + [
                "qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-nodefaults", "-display", "none", "-S", "-m", "64",
                "-qmp", "unix:\(qmpPath),server=on,wait=off", "-qmp", "unix:\(testQmpPath),server=on,wait=off"
            ] + rootPorts)
        // QEMU creates its sockets some milliseconds after exec, more on a loaded machine; a
        // watcher or plug started before that fails to connect, as it should. Wait (bounded).
        let deadline = ContinuousClock.now + .seconds(20)
        while !(FileManager.default.fileExists(atPath: qmpPath) && FileManager.default.fileExists(atPath: testQmpPath)) {
            guard ContinuousClock.now < deadline, process.isRunning else {
                stop()
                throw TestFailure("QEMU did not create its QMP sockets in \(directory) within 20 s")
            }
            usleep(20_000)
        }
    }

    func connect() throws -> QmpClient {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            do { return try QmpClient(path: testQmpPath) } catch {
                guard ContinuousClock.now < deadline, process.isRunning else { throw error }
                usleep(50_000)
            }
        }
    }

    /// Descriptors QEMU holds on /dev/net/tun, /dev/tapN and /dev/vhost-net.
    var networkDescriptors: Int {
        let dir = "/proc/\(process.pid)/fd"
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return fds.filter { fd in
            guard let t = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/\(fd)") else { return false }
            // macvtap queues are /dev/tapN, or a private node of the state directory's dev/ (named after the tap).
            return t == "/dev/net/tun" || t == "/dev/vhost-net" || t.contains("tap")
        }.count
    }

    func stop() {
        _ = process.kill()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

extension SandboxIntegration {
    /// `sandnet plug`/`unplug` end to end over QMP against a real (paused) QEMU, and the
    /// failure cases: no free port, QEMU refusing device_add, a guest that never releases
    /// the NIC, the QMP socket gone. The host side is cross-checked with `ip -j`/`tc -j`.
    @Suite(.serialized) struct HotplugQmpTests {
        static var ready: Bool { TestEnvironment.isRoot && PausedSandboxQemu.available && SandnetBinary.exists }

        /// eth0 attached with `spare` spare ports (state in `state`), eth1 added after, QEMU
        /// started with the attach's root ports (or `ports` instead).
        func withSandbox(
            spare: Int, ports: [String]? = nil, model: NetworkModel = .tcfilter,
            _ body: (PodFixture, StateDirectory, PausedSandboxQemu, _ beforePlug: String) throws -> Void
        ) throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                let r = try SandboxAttach.attach(
                    AttachSettings(sandbox: "hq", namespace: f.pod.namespace.path, model: model, vcpus: 2, sparePorts: spare), store: store)
                r.closeDescriptors()
                defer { _ = try? SandboxDetach.detach(sandbox: "hq", store: store, force: true) }
                let qemu = try PausedSandboxQemu(rootPorts: ports ?? (try #require(r.plan)).topology.arguments)
                defer { qemu.stop() }
                try f.addEndpoint("eth1", .veth, number: 1)
                try f.configure("eth1", number: 1)
                let beforePlug = try f.snapshot()
                try body(f, state, qemu, beforePlug)
            }
        }

        func sandnet(_ args: [String], _ state: StateDirectory, _ qemu: PausedSandboxQemu) throws -> SandnetBinary.Outcome {
            try SandnetBinary.run(args + ["--sandbox", "hq", "--qmp", qemu.qmpPath, "--state-dir", state.path], timeout: .seconds(60))
        }

        func journal(_ state: StateDirectory) throws -> SandboxJournal {
            try SandboxPlug.journal(sandbox: "hq", store: JournalStore(directory: state.path))
        }

        @Test(.enabled(if: ready, "needs root, qemu-system-x86_64 and the built sandnet"), arguments: [NetworkModel.tcfilter, .macvtap])
        func plugOverQmpThenAnUnreleasedUnplugKeepsStateThenDetachRestores(_ model: NetworkModel) throws {
            try withSandbox(spare: 2, model: model) { f, state, qemu, _ in
                let ethOneBeforePlug = try HotplugHostTests().deviceSnapshot(f, "eth1")
                let baseline = qemu.networkDescriptors
                let plug = try sandnet(["plug", "--endpoint", "eth1", "--model", model.rawValue, "--json"], state, qemu)
                #expect(plug.status == 0, "\(plug.stderr)")
                print("hotplug latency (\(model), paused q35, host side + getfd + netdev_add + device_add): \(plug.stdout)")
                let qmp = try qemu.connect()
                defer { qmp.close() }
                #expect(try qmp.peripheralDeviceIDs()["snp1-nic"] == "virtio-net-pci")
                // QEMU holds the queues (and vhost descriptors): 2 queues.
                let vhost = FileManager.default.fileExists(atPath: "/dev/vhost-net")
                #expect(qemu.networkDescriptors - baseline == (vhost ? 4 : 2))
                let j = try journal(state)
                #expect(j.plugged?.first?.state == .inGuest && j.rootPorts?[1].endpoint == "eth1")
                let device = try #require(j.plugged?.first?.device)
                #expect(try f.pod.ipJSON("link", "show", device).count == 1)

                // A paused machine never acknowledges PCIe hot-unplug: the timeout is reported, the state kept.
                let unplug = try sandnet(["unplug", "--endpoint", "eth1", "--unplug-timeout", "2"], state, qemu)
                #expect(unplug.status != 0)
                #expect(unplug.stderr.contains("did not release snp1-nic"), "\(unplug.stderr)")
                #expect(try journal(state).plugged?.first?.state == .unplugging)
                #expect(try f.pod.ipJSON("link", "show", device).count == 1, "the host side stays while QEMU has the NIC")
                // A retry finds the unplug pending and waits again, the same way.
                let again = try sandnet(["unplug", "--endpoint", "eth1", "--unplug-timeout", "1"], state, qemu)
                #expect(again.status != 0 && again.stderr.contains("did not release"), "\(again.stderr)")

                // The QMP socket gone (QEMU killed): refused, state kept.
                qmp.close()
                qemu.stop()
                let gone = try sandnet(["unplug", "--endpoint", "eth1"], state, qemu)
                #expect(gone.status != 0 && gone.stderr.contains("QMP socket"), "\(gone.stderr)")
                #expect(try journal(state).plugged?.first?.state == .unplugging)

                // Detach undoes the plugged endpoint with the rest: eth1 exactly as before the plug.
                let store = JournalStore(directory: state.path)
                _ = try SandboxDetach.detach(sandbox: "hq", store: store, force: true)
                let after = try HotplugHostTests().deviceSnapshot(f, "eth1")
                #expect(after == ethOneBeforePlug, "\(firstDifference(ethOneBeforePlug, after))")
                #expect(try f.pod.ipJSON("link", "show").compactMap { $0["ifname"] as? String } == ["lo", "eth0", "eth1"])
            }
        }

        /// QEMU exec'd by `sandnet attach --exec` (paused): its boot NICs are the attach's.
        func withExecAttached(
            _ model: NetworkModel, extraEndpoint: Bool = false, _ body: (PodFixture, StateDirectory, PausedSandboxQemu) throws -> Void
        ) throws {
            try PodFixture.withEndpoint { f in
                if extraEndpoint {
                    try f.addEndpoint("eth1", .veth, number: 1)
                    try f.configure("eth1", number: 1)
                }
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                defer { _ = try? SandboxDetach.detach(sandbox: "hq", store: store, force: true) }
                let qemu = try PausedSandboxQemu(
                    rootPorts: [],
                    launcher: [
                        SandnetBinary.path, "attach", "--netns", f.pod.namespace.path, "--sandbox", "hq", "--model", model.rawValue,
                        "--spare-ports", "1", "--state-dir", state.path, "--exec", "--"
                    ])
                defer { qemu.stop() }
                try body(f, state, qemu)
            }
        }

        @Test(.enabled(if: ready, "needs root, qemu-system-x86_64 and the built sandnet"), arguments: [NetworkModel.tcfilter, .macvtap])
        func unplugOfAnAttachedEndpointWaitsForTheGuestThenKeepsStateThenDetachRestores(_ model: NetworkModel) throws {
            try withExecAttached(model) { f, state, qemu in
                let qmp = try qemu.connect()
                defer { qmp.close() }
                let nic = try #require(try journal(state).attachedNICs?.first)
                #expect(nic.device == "sn0-nic" && nic.netdev == "sn0")
                #expect(try qmp.peripheralDeviceIDs()[nic.device] == "virtio-net-pci")
                let device = try #require(nic.hostDevice)

                // A paused machine never acknowledges PCIe hot-unplug: the timeout is reported, the state kept.
                let unplug = try sandnet(["unplug", "--endpoint", "eth0", "--unplug-timeout", "2"], state, qemu)
                #expect(unplug.status != 0 && unplug.stderr.contains("did not release sn0-nic"), "\(unplug.stderr)")
                let j = try journal(state)
                #expect(j.attachedNICs?.first?.state == .unplugging)
                #expect(j.endpoints?.map(\.name) == ["eth0"] && j.rootPorts?.first?.endpoint == "eth0", "the port stays taken")
                #expect(try f.pod.ipJSON("link", "show", device).count == 1, "the host side stays while QEMU has the NIC")
                #expect(try qmp.peripheralDeviceIDs()[nic.device] != nil)

                // The QMP socket gone (QEMU killed): refused, state kept.
                qmp.close()
                qemu.stop()
                let gone = try sandnet(["unplug", "--endpoint", "eth0"], state, qemu)
                #expect(gone.status != 0 && gone.stderr.contains("QMP socket"), "\(gone.stderr)")
                #expect(try journal(state).attachedNICs?.first?.state == .unplugging)
                _ = try SandboxDetach.detach(sandbox: "hq", store: JournalStore(directory: state.path), force: true)
                #expect(try f.pod.ipJSON("link", "show").compactMap { $0["ifname"] as? String } == ["lo", "eth0"])
            }
        }

        @Test(.enabled(if: ready, "needs root, qemu-system-x86_64 and the built sandnet"))
        func noFreeRootPortFailsBeforeTouchingAnything() throws {
            try withSandbox(spare: 0) { f, state, qemu, beforePlug in
                let baseline = qemu.networkDescriptors
                let journalBefore = try Data(contentsOf: URL(fileURLWithPath: JournalStore(directory: state.path).path(of: "hq")))
                let r = try sandnet(["plug", "--endpoint", "eth1"], state, qemu)
                #expect(r.status != 0 && r.stderr.contains("PCIe root ports carries a NIC"), "\(r.stderr)")
                #expect(try f.snapshot() == beforePlug)
                #expect(try Data(contentsOf: URL(fileURLWithPath: JournalStore(directory: state.path).path(of: "hq"))) == journalBefore)
                #expect(qemu.networkDescriptors == baseline)
            }
        }

        @Test(.enabled(if: ready, "needs root, qemu-system-x86_64 and the built sandnet"), arguments: [NetworkModel.tcfilter, .macvtap])
        func qemuRefusingDeviceAddUndoesEverything(_ model: NetworkModel) throws {
            // QEMU without the spare port the journal records: device_add fails (no such bus).
            try withSandbox(
                spare: 1, ports: ["-device", "pcie-root-port,id=sn-rp0,bus=pcie.0,chassis=1,slot=1,addr=0x10.0x0"], model: model
            ) {
                f, state, qemu, beforePlug in
                let baseline = qemu.networkDescriptors
                let r = try sandnet(["plug", "--endpoint", "eth1", "--model", model.rawValue], state, qemu)
                #expect(r.status != 0 && r.stderr.contains("device_add") && r.stderr.contains("sn-rp1"), "\(r.stderr)")
                let now = try f.snapshot()
                #expect(now == beforePlug, "\(firstDifference(beforePlug, now))")
                let j = try journal(state)
                #expect(j.plugged?.isEmpty == true && j.rootPorts?[1].endpoint == nil)
                // netdev_del done: QEMU has neither the netdev nor the descriptors.
                let qmp = try qemu.connect()
                defer { qmp.close() }
                let network = try qmp.execute("human-monitor-command", arguments: ["command-line": "info network"]).stringValue ?? ""
                #expect(!network.contains("snp1"), "\(network)")
                #expect(qemu.networkDescriptors == baseline)
            }
        }

        @Test(.enabled(if: ready, "needs root, qemu-system-x86_64 and the built sandnet"))
        func qmpSocketGoneFailsBeforeTouchingAnything() throws {
            try withSandbox(spare: 1) { f, state, qemu, beforePlug in
                qemu.stop()
                let r = try sandnet(["plug", "--endpoint", "eth1"], state, qemu)
                #expect(r.status != 0 && r.stderr.contains("QMP socket"), "\(r.stderr)")
                #expect(try f.snapshot() == beforePlug)
                #expect(try journal(state).plugged == nil)
            }
        }

        /// `sandnet-lab fault-plug` (the product's plug, SIGSTOPping itself at `stop`), sent
        /// SIGTERM while stopped there, then SIGCONT: its termination and its stderr.
        func plugTerminatedAt(_ stop: [String], _ state: StateDirectory, _ qemu: PausedSandboxQemu) throws -> (ProcessTermination, String) {
            let log = "\(state.path)-plug-\(UInt32.random(in: 0...UInt32.max)).log"
            defer { unlink(log) }
            let args =
                [LabBinary.path, "fault-plug"] + stop + [
                    "--endpoint", "eth1", "--sandbox", "hq", "--qmp", qemu.qmpPath, "--state-dir", state.path
                ]
            let plug = try ProcessRunner.spawn(["/bin/sh", "-c", "exec \"$@\" 2>\(log)", "sh"] + args)
            defer { _ = plug.kill() }
            // Stopped (state T) at the point, within a bound.
            let deadline = ContinuousClock.now + .seconds(60)
            while !Self.isStopped(plug.pid) {
                guard ContinuousClock.now < deadline, plug.isRunning else {
                    throw TestFailure("fault-plug did not stop at \(stop): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
                }
                usleep(20_000)
            }
            _ = plug.signal(SIGTERM)
            _ = plug.signal(SIGCONT)
            let end = try plug.wait(timeout: .seconds(60))
            return (end, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
        }

        /// Whether the process is stopped (state T in /proc/PID/stat).
        static func isStopped(_ pid: pid_t) -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
                return false
            }
            return stat[stat.index(close, offsetBy: 2)] == "T"
        }

        static let beforeDeviceAdd: [[String]] = [["--stop-after", "2"], ["--stop-at", "wired"], ["--stop-at", "netdev-added"]]

        @Test(
            .enabled(if: ready && LabBinary.exists, "needs root, qemu-system-x86_64 and the built sandnet and sandnet-lab"),
            arguments: beforeDeviceAdd)
        func sigtermBeforeDeviceAddRollsThePlugBack(_ stop: [String]) throws {
            try withSandbox(spare: 1) { f, state, qemu, beforePlug in
                let baseline = qemu.networkDescriptors
                let (end, stderr) = try plugTerminatedAt(stop, state, qemu)
                #expect(end.shellStatus != 0 && stderr.contains("was stopped by a signal before"), "\(end): \(stderr)")
                let now = try f.snapshot()
                #expect(now == beforePlug, "\(firstDifference(beforePlug, now))")
                let j = try journal(state)
                #expect((j.plugged ?? []).isEmpty && j.rootPorts?[1].endpoint == nil && j.endpoints?.map(\.name) == ["eth0"])
                let qmp = try qemu.connect()
                defer { qmp.close() }
                let network = try qmp.execute("human-monitor-command", arguments: ["command-line": "info network"]).stringValue ?? ""
                #expect(!network.contains("snp1"), "\(network)")
                #expect(try qmp.peripheralDeviceIDs()["snp1-nic"] == nil)
                #expect(qemu.networkDescriptors == baseline)
            }
        }

        @Test(.enabled(if: ready && LabBinary.exists, "needs root, qemu-system-x86_64 and the built sandnet and sandnet-lab"))
        func sigtermAfterDeviceAddFinishesThePlug() throws {
            try withSandbox(spare: 1) { f, state, qemu, _ in
                let (end, stderr) = try plugTerminatedAt(["--stop-at", "device-added"], state, qemu)
                #expect(end.shellStatus == 0, "\(end): \(stderr)")
                #expect(stderr.contains("the plug was finished"), "\(stderr)")
                let j = try journal(state)
                #expect(j.plugged?.first?.state == .inGuest && j.rootPorts?[1].endpoint == "eth1")
                let qmp = try qemu.connect()
                defer { qmp.close() }
                #expect(try qmp.peripheralDeviceIDs()["snp1-nic"] == "virtio-net-pci")
                #expect(try f.pod.ipJSON("link", "show", try #require(j.plugged?.first?.device)).count == 1)
            }
        }
    }
}
