import Foundation
import NetlinkSocket
import Rtnetlink
import SandboxNetwork
import SandnetCore

/// Child mode: one scan of an existing namespace, then this process's peak RSS.
func measureMemoryChild(_ ns: String) -> Never {
    do {
        let rt = try Rtnetlink(namespace: .named(ns))
        let c = try sandnetScan(rt)
        rt.close()
        print("counts \(c)\nmaxrss_kb \(peakRSSKilobytes())")
        exit(0)
    } catch { die("\(error)") }
}

/// VmHWM, not ru_maxrss: ru_maxrss survives execve and reports the spawning parent's peak.
func peakRSSKilobytes() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
}

/// Child mode: a tcfilter attach of each pod namespace given (a sandbox each) in this fresh
/// process, then its wall and CPU time and peak RSS; the parent detaches.
func measureAttachChild(_ store: String, _ namespaces: String) -> Never {
    do {
        var total = Sample.zero
        var endpoints = 0
        for ns in namespaces.split(separator: ",").map(String.init) {
            var result: AttachResult?
            total =
                total
                + (try measured {
                    result = try SandboxAttach.attach(
                        AttachSettings(sandbox: "bench-\(ns)", namespace: ns, model: .tcfilter, vcpus: 2),
                        store: JournalStore(directory: store))
                })
            endpoints += (result?.descriptors.count ?? 0) / 2
            result?.closeDescriptors()
        }
        print("total \(Int(total.wall)) \(Int(total.cpu))\ncounts endpoints=\(endpoints) \nmaxrss_kb \(peakRSSKilobytes())")
        exit(0)
    } catch { die("\(error)") }
}
