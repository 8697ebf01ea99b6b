import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Boots a guest under QEMU, follows its serial console, and turns the guest init's
/// SANDNET- lines into a report or a typed error. QEMU is always gone when this returns.
public enum GuestRunner {
    public static func run(_ boot: GuestBoot, progress: @escaping (GuestProgress) -> Void = { _ in }) throws -> GuestReport {
        let start = Date()
        let child =
            boot.launcher.isEmpty
            ? try QemuProcess.spawn(binary: boot.binary, arguments: boot.arguments, inheriting: boot.inheritedFDs)
            : try QemuProcess.spawn(
                binary: boot.launcher[0], arguments: boot.launcher.dropFirst() + [boot.binary] + boot.arguments,
                inheriting: boot.inheritedFDs)
        defer { child.killAndReap() }
        progress(.started(pid: child.pid))

        var console: [String] = []
        var stage = "starting QEMU"
        var networkUp: (Double, Int)?
        var results: [PeerProbeResult] = []
        var guestError: GuestLabError?
        var done = false

        let deadline = start.addingTimeInterval(boot.timeoutSeconds)
        while true {
            let exited = child.pollExit()
            for line in child.readLines(waitMilliseconds: exited == nil ? 200 : 0) {
                console.append(line)
                progress(.consoleLine(line))
                guard let marker = Marker(line) else {
                    if line.contains("Kernel panic") { guestError = guestError ?? .guestPanicked(line: line) }
                    continue
                }
                switch marker.kind {
                case "STAGE":
                    stage = marker.text
                    progress(.stage(marker.text))
                case "NET-UP":
                    let seconds = Date().timeIntervalSince(start)
                    networkUp = (seconds, Int(marker.fields["uptime_ms"] ?? "") ?? 0)
                    stage = "network up"
                    progress(.networkUp(seconds: seconds))
                case "RESULT":
                    let r = PeerProbeResult(
                        target: marker.fields["target"] ?? "?", token: marker.fields["token"] ?? "",
                        rttMilliseconds: Double(marker.fields["rtt_ms"] ?? "") ?? 0,
                        bytes: Int(marker.fields["bytes"] ?? "") ?? 0,
                        throughputKbps: Int(marker.fields["tput_kbps"] ?? "") ?? 0)
                    results.append(r)
                    progress(.result(r))
                case "ERROR":
                    guestError = guestError ?? marker.error
                case "DONE":
                    done = true
                    stage = "powering off"
                default: break
                }
            }
            if let status = exited {
                if let guestError { throw guestError }
                if console.isEmpty { throw GuestLabError.qemuFailedToStart(binary: boot.binary, status: status, stderr: child.stderrText) }
                guard done, let networkUp else {
                    throw GuestLabError.qemuExited(status: status, stderr: child.stderrText, lastConsoleLine: console.last)
                }
                return GuestReport(
                    bootToNetworkSeconds: networkUp.0, guestUptimeAtNetworkMilliseconds: networkUp.1,
                    results: results, console: console)
            }
            if Date() > deadline {
                if let guestError { throw guestError }
                throw GuestLabError.timedOut(seconds: boot.timeoutSeconds, stage: stage, lastConsoleLine: console.last)
            }
        }
    }

    /// `SANDNET-KIND key=value … free text`.
    struct Marker {
        var kind: String
        var text: String
        var fields: [String: String]

        init?(_ line: String) {
            guard let r = line.range(of: "SANDNET-") else { return nil }
            let rest = line[r.upperBound...]
            let words = rest.split(separator: " ", omittingEmptySubsequences: true)
            guard let k = words.first else { return nil }
            kind = String(k)
            text = words.dropFirst().joined(separator: " ")
            var f: [String: String] = [:]
            for w in words.dropFirst() {
                guard let eq = w.firstIndex(of: "=") else { continue }
                f[String(w[..<eq])] = f[String(w[..<eq])] ?? String(w[w.index(after: eq)...])
            }
            fields = f
        }

        var error: GuestLabError {
            let kind = fields["kind"] ?? "unknown"
            let detail = text.split(separator: " ").filter { !$0.hasPrefix("kind=") }.joined(separator: " ")
            if kind == "module", let name = fields["name"] { return .guestModuleMissing(module: name, detail: detail) }
            return .guestFailed(kind: kind, detail: detail)
        }
    }
}
