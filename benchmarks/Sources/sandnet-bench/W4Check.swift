import Foundation

/// W4: a full `sandnet check` (kernel config, modules, live probes) as a subprocess of the
/// small floor binary, so the child's maxrss is its own and not inherited from this process.
func w4Check(_ o: Options) throws -> [Row] {
    let sandnet = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sandnet").path
    guard FileManager.default.isExecutableFile(atPath: sandnet) else { die("no sandnet binary next to sandnet-bench: \(sandnet)") }
    _ = run([o.floor, "rusage", sandnet, "check"]) // warm-up (page cache)
    var time: [Sample] = []
    var rss: [Double] = []
    var status = ""
    for _ in 0..<o.checkRuns {
        let out = run([o.floor, "rusage", sandnet, "check"]).stdout
        time.append(sample(out, "total"))
        rss.append(number(out, "maxrss_kb"))
        status = field(out, "status") ?? "?"
    }
    let ms = median(time)
    return [
        Row(
            workload: "W4 sandnet check", unit: "ms/run", sandnet: ms, floor: nil, iproute2: nil,
            target: "<100 ms", met: ms.wall < 100e6,
            note:
                "peak memory \(Int(median(rss)) / 1024) MB (maxrss, median of \(o.checkRuns)); exit status \(status) (1: this host lacks something a model needs)"
        )
    ]
}
