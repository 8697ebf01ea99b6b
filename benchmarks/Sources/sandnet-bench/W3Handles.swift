import Foundation
import NetlinkSocket

/// W3: open a namespace-bound handle (a NETLINK_ROUTE socket made on a namespace thread)
/// and close it, `cycles` times.
func w3Handles(_ o: Options) throws -> [Row] {
    let ns = Namespaces.create("handles")
    defer { Namespaces.remove(ns) }
    try NetlinkHandle(namespace: .named(ns)).close() // warm-up: start the namespace thread
    let fdsBefore = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    let batches = 5
    let sandnet = try (0..<batches).map { _ in
        try timed { for _ in 0..<o.cycles { try NetlinkHandle(namespace: .named(ns)).close() } } / Double(o.cycles)
    }
    let fdsAfter = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    if fdsAfter > fdsBefore { die("W3: \(fdsAfter - fdsBefore) descriptors leaked over \(batches * o.cycles) cycles") }
    let floor = (0..<batches).map { _ in number(run([o.floor, "w3", ns, "\(o.cycles)"]).stdout, "total") / Double(o.cycles) }
    let ratio = median(sandnet) / median(floor)
    return [
        Row(
            workload: "W3 handle open+close", unit: "µs/cycle", sandnet: median(sandnet), floor: median(floor), iproute2: nil,
            target: "≤1.2× floor", met: ratio <= 1.2,
            note: "medians of \(batches) batches of \(o.cycles) cycles; descriptors before/after: \(fdsBefore)/\(fdsAfter)")
    ]
}
