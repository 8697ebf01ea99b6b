import Foundation
import SandboxNetwork

/// exec: what a runtime pays per pod when it runs the `sandnet` binary, from spawn to
/// exit: the attach of one pod of 10 endpoints as a process, next to the same attach
/// in-process (the engine alone) and the floor's process doing the kernel work. Also the
/// smallest real command, `sandnet link`, next to `ip link`.
///
/// The binary is SANDNET_BENCH_BINARY, which scripts/bench.sh sets to the static build
/// that deploy/Containerfile ships; without it, the `sandnet` of this benchmark's own
/// release build (linked to the Swift runtime's shared libraries, whose loading alone
/// costs several milliseconds a start).
func execToExit(_ o: Options) throws -> [Row] {
    let binary =
        ProcessInfo.processInfo.environment["SANDNET_BENCH_BINARY"]
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sandnet").path
    guard FileManager.default.isExecutableFile(atPath: binary) else { die("exec: no sandnet binary at \(binary)") }
    let pod = EndpointNamespace(count: 10, tag: "exec")
    defer { pod.remove() }
    let state = "/dev/shm/\(Namespaces.prefix)-exec-state"
    defer { try? FileManager.default.removeItem(atPath: state) }
    let store = JournalStore(directory: state)
    let runs = o.quick ? 3 : 10
    let group = 4343

    var process: [Sample] = []
    var engine: [Sample] = []
    var floorProcess: [Sample] = []
    var floorInside: [Sample] = []
    for i in 0..<runs {
        let sandbox = "exec-\(i)"
        process.append(
            measuredChildren {
                _ = run([binary, "attach", "--netns", pod.name, "--sandbox", sandbox, "--vcpus", "2", "--state-dir", state])
            })
        pod.expect(pod.tcWired, "after `sandnet attach` (process)")
        _ = try SandboxDetach.detach(sandbox: sandbox, store: store)
        pod.expect(pod.bare, "after detach of the process's attach")

        var result: AttachResult?
        engine.append(
            try measured {
                result = try SandboxAttach.attach(
                    AttachSettings(sandbox: sandbox + "-engine", namespace: pod.name, model: .tcfilter, vcpus: 2), store: store)
            })
        result?.closeDescriptors()
        pod.expect(pod.tcWired, "after the in-process attach")
        _ = try SandboxDetach.detach(sandbox: sandbox + "-engine", store: store)
        pod.expect(pod.bare, "after detach of the in-process attach")

        var inside = Sample.zero
        floorProcess.append(measuredChildren { inside = sample(run([o.floor, "tc-attach", pod.name, "\(group)"]).stdout, "total") })
        floorInside.append(inside)
        pod.expect(pod.tcWired, "after the floor's tc-attach")
        _ = run([o.floor, "tc-detach", pod.name, "\(group)", "group"])
        pod.expect(pod.bare, "after the floor's tc-detach")
    }
    let listings = (0..<runs).map { _ in measuredChildren { _ = run([binary, "link", "--netns", pod.name]) } }
    let ipListings = (0..<runs).map { _ in measuredChildren { _ = run(["ip", "-n", pod.name, "link", "show"]) } }
    let floorStarts = (0..<runs).map { _ in measuredChildren { _ = run([o.floor, "w3", pod.name, "0"]) } }
    return [
        Row(
            workload: "sandnet attach as a process, exec to exit (1 pod of 10)", unit: "ms/pod", sandnet: median(process),
            floor: median(floorProcess), iproute2: nil,
            note:
                "\(runs) runs; floor column: the floor's tc-attach process, exec to exit (its own timer inside: \(figure(median(floorInside), "ms")) ms); the same attach in-process (engine alone): \(figure(median(engine), "ms")) ms; binary \(binary)"
        ),
        Row(
            workload: "sandnet link as a process (one link dump of 11 links)", unit: "ms", sandnet: median(listings),
            floor: median(floorStarts), iproute2: median(ipListings),
            note: "exec to exit; floor column: the floor's process starting and doing nothing (w3, 0 cycles); iproute2: ip -n NS link show")
    ]
}
