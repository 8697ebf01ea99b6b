import Foundation
import ProcessRunner
import Qmp
import SandboxNetwork
import SandnetCLI
import SandnetCore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension SandboxIntegration {
    /// `sandnet watch` as a separate process against a paused QEMU: it plugs an endpoint
    /// that appears with its addresses, survives its own restart without plugging twice,
    /// tries to unplug a removed one (a paused machine never releases it: state kept),
    /// rescans after lost events, and stops on SIGTERM.
    @Suite(.serialized) struct HotplugWatchTests {
        final class Watcher {
            let log: String
            let process: RunningProcess
            init(
                _ state: StateDirectory, _ qemu: PausedSandboxQemu, extra: [String] = [], command: [String] = [SandnetBinary.path, "watch"]
            ) throws {
                log = "\(state.path)-watch-\(UInt32.random(in: 0...UInt32.max)).log"
                let args =
                    command + ["--sandbox", "hq", "--qmp", qemu.qmpPath, "--state-dir", state.path]
                    + ["--settle-ms", "200", "--retry-ms", "500", "--unplug-timeout", "1", "--log-level", "debug"] + extra
                process = try ProcessRunner.spawn(["/bin/sh", "-c", "exec \"$@\" 2>\(log)", "sh"] + args)
            }
            var text: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
            /// SIGTERM, then the exit status (bounded).
            func terminate() throws -> ProcessTermination {
                _ = process.signal(SIGTERM)
                return try process.wait(timeout: .seconds(15))
            }
            deinit {
                _ = process.kill()
                unlink(log)
            }
        }

        /// Polls `condition` every 20 ms for at most `limit`; the time it took, or nil.
        func waitFor(_ limit: Duration, _ condition: () throws -> Bool) rethrows -> Duration? {
            let start = ContinuousClock.now
            while ContinuousClock.now - start < limit {
                if try condition() { return ContinuousClock.now - start }
                usleep(20_000)
            }
            return nil
        }

        /// A pod with one endpoint attached as sandbox "hq" (journal in a fresh state
        /// directory, `sparePorts` empty root ports) and a paused QEMU with its root ports;
        /// all of it undone after `body`, even when it throws.
        func withAttachedPausedQemu(
            sparePorts: Int, _ body: (PodFixture, StateDirectory, JournalStore, PausedSandboxQemu) throws -> Void
        ) throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                let r = try SandboxAttach.attach(
                    AttachSettings(sandbox: "hq", namespace: f.pod.namespace.path, vcpus: 1, sparePorts: sparePorts), store: store)
                r.closeDescriptors()
                defer { _ = try? SandboxDetach.detach(sandbox: "hq", store: store, force: true) }
                let qemu = try PausedSandboxQemu(rootPorts: try #require(r.plan).topology.arguments)
                defer { qemu.stop() }
                try body(f, state, store, qemu)
            }
        }

        func plugState(_ state: StateDirectory, _ name: String) -> PluggedEndpoint.State? {
            (try? SandboxPlug.journal(sandbox: "hq", store: JournalStore(directory: state.path)))?.plugged?.first { $0.endpoint == name }?
                .state
        }

        @Test(.enabled(if: HotplugQmpTests.ready, "needs root, qemu-system-x86_64 and the built sandnet"))
        func watcherPlugsRestartsUnplugsAndStops() throws {
            try withAttachedPausedQemu(sparePorts: 2) { f, state, store, qemu in
                let qmp = try qemu.connect()
                defer { qmp.close() }
                var w: Watcher? = try Watcher(state, qemu)
                #expect(waitFor(.seconds(10)) { w!.text.contains("watching") } != nil, "\(w!.text)")

                // A link without an address is not plugged yet; with one, it is.
                try f.addEndpoint("eth1", .veth, number: 1)
                usleep(600_000)
                #expect(plugState(state, "eth1") == nil, "plugged before it had an address: \(w!.text)")
                try f.configure("eth1", number: 1)
                let took = waitFor(.seconds(20)) { plugState(state, "eth1") == .inGuest }
                #expect(took != nil, "\(w!.text)")
                print("watch: address added -> NIC in QEMU (paused q35, tcfilter, settle 200 ms): \(took.map { "\($0)" } ?? "timeout")")
                #expect(try qmp.peripheralDeviceIDs()["snp1-nic"] != nil)

                // SIGTERM: a clean stop. A new watcher finds everything in place and plugs nothing twice.
                let end = try #require(try w?.terminate())
                #expect(end.shellStatus == 0, "\(w!.text)")
                #expect(w!.text.contains("stopped"))
                w = try Watcher(state, qemu)
                #expect(waitFor(.seconds(10)) { w!.text.contains("watching") } != nil)
                usleep(1_000_000)
                #expect(!w!.text.contains("plugged"), "\(w!.text)")
                #expect(try SandboxPlug.journal(sandbox: "hq", store: store).plugged?.count == 1)

                // Removed: the watcher unplugs; the paused guest never releases the NIC, so the state stays.
                try f.pod.ip("link", "del", "eth1")
                #expect(
                    waitFor(.seconds(20)) { plugState(state, "eth1") == .unplugging && w!.text.contains("did not release") } != nil,
                    "\(w!.text)")
                #expect(try qmp.peripheralDeviceIDs()["snp1-nic"] != nil)
                #expect(try #require(try w?.terminate()).shellStatus == 0, "\(w!.text)")
            }
        }

        @Test(.enabled(if: HotplugQmpTests.ready, "needs root, qemu-system-x86_64 and the built sandnet"))
        func lostEventsTriggerARescan() throws {
            try withAttachedPausedQemu(sparePorts: 1) { f, state, store, qemu in
                let w = try Watcher(state, qemu, extra: ["--receive-buffer-bytes", "1"])
                #expect(waitFor(.seconds(10)) { w.text.contains("watching") } != nil)
                // A burst the smallest receive buffer cannot hold, with the new endpoint in the middle of it.
                var batch = ""
                for i in 0..<150 { batch += "link add v\(i) type veth peer name w\(i)\n" }
                try f.addEndpoint("eth1", .veth, number: 1)
                try f.configure("eth1", number: 1)
                for i in 150..<300 { batch += "link add v\(i) type veth peer name w\(i)\n" }
                let file = "\(state.path)-batch"
                try batch.write(toFile: file, atomically: true, encoding: .utf8)
                defer { unlink(file) }
                try f.pod.ip("-batch", file)
                #expect(waitFor(.seconds(20)) { plugState(state, "eth1") == .inGuest } != nil, "\(w.text)")
                #expect(w.text.contains("events were lost"), "the burst was not lost: \(w.text.suffix(2000))")
                let end = try w.terminate()
                #expect(end.shellStatus == 0, "\(end): \(w.text.suffix(3000))")
            }
        }

        @Test(.enabled(if: HotplugQmpTests.ready, "needs root, qemu-system-x86_64 and the built sandnet"))
        func watcherUnplugsAnAttachedEndpointThatGoes() throws {
            try HotplugQmpTests().withExecAttached(.tcfilter, extraEndpoint: true) { f, state, qemu in
                let qmp = try qemu.connect()
                defer { qmp.close() }
                #expect(try Set(qmp.peripheralDeviceIDs().keys).isSuperset(of: ["sn0-nic", "sn1-nic"]))
                let w = try Watcher(state, qemu)
                #expect(waitFor(.seconds(10)) { w.text.contains("watching") } != nil, "\(w.text)")
                func nicState() -> AttachedNIC.State? {
                    (try? SandboxPlug.journal(sandbox: "hq", store: JournalStore(directory: state.path)))?.attachedNICs?.first {
                        $0.endpoint == "eth1"
                    }?.state
                }
                usleep(600_000)
                #expect(nicState() == .attached, "an attached endpoint that is there keeps its NIC: \(w.text)")
                // CNI DEL of the second network: its boot NIC goes; the paused guest never releases it, so the state stays.
                try f.pod.ip("link", "del", "eth1")
                #expect(
                    waitFor(.seconds(20)) { nicState() == .unplugging && w.text.contains("did not release sn1-nic") } != nil, "\(w.text)")
                #expect(try qmp.peripheralDeviceIDs()["sn1-nic"] != nil && qmp.peripheralDeviceIDs()["sn0-nic"] != nil)
                #expect(try w.terminate().shellStatus == 0, "\(w.text)")
            }
        }

        @Test(
            .enabled(if: HotplugQmpTests.ready && LabBinary.exists, "needs root, qemu-system-x86_64 and the built sandnet and sandnet-lab"),
            arguments: PlugPoint.allCases)
        func sigtermWhileTheWatcherPlugsFinishesThePlug(_ point: PlugPoint) throws {
            try withAttachedPausedQemu(sparePorts: 1) { f, state, store, qemu in
                let qmp = try qemu.connect()
                defer { qmp.close() }
                // The product's watcher, stopping itself at the point of its plug.
                let w = try Watcher(state, qemu, command: [LabBinary.path, "fault-watch", "--stop-at", point.rawValue])
                #expect(waitFor(.seconds(10)) { w.text.contains("watching") } != nil, "\(w.text)")
                try f.addEndpoint("eth1", .veth, number: 1)
                try f.configure("eth1", number: 1)
                #expect(waitFor(.seconds(20)) { HotplugQmpTests.isStopped(w.process.pid) } != nil, "never stopped at \(point): \(w.text)")
                _ = w.process.signal(SIGTERM)
                _ = w.process.signal(SIGCONT)
                let end = try w.process.wait(timeout: .seconds(30))
                #expect(end.shellStatus == 0 && w.text.contains("stopped"), "\(end): \(w.text)")
                // The plug in progress was finished, then the watcher stopped: nothing half made.
                #expect(plugState(state, "eth1") == .inGuest, "\(w.text)")
                #expect(try qmp.peripheralDeviceIDs()["snp1-nic"] == "virtio-net-pci")
                let j = try SandboxPlug.journal(sandbox: "hq", store: store)
                #expect(j.rootPorts?[1].endpoint == "eth1" && j.plugged?.count == 1)
                #expect(try f.pod.ipJSON("link", "show", try #require(j.plugged?.first?.device)).count == 1)
            }
        }
    }
}
