import ArgumentParser
import Foundation
import GuestLab
import QemuWiring
import SandboxNetwork
import SandnetCore

/// `sandnet-lab demo`: the project's main job end to end, on real parts.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Boot a QEMU guest whose network comes from a CNI-built pod namespace through sandnet, prove it reaches a peer, and clean up.",
        discussion: """
            Builds (or reuses) the Debian test guest, creates host, pod and peer namespaces with the CNI bridge
            plugin, attaches the pod with the chosen model, boots QEMU (TCG) with sandnet's arguments, and checks the
            guest fetches this run's token from the peer. Then detaches, runs CNI DEL, removes the namespaces and
            confirms nothing was left behind. Needs root.
            """)

    @Option(help: "Guest architecture: x86_64 (q35) or aarch64 (virt).")
    var arch: String = "x86_64"
    @Option(help: "Host-side model: tcfilter or macvtap.")
    var model: String = "tcfilter"
    @Option(help: "NICs, one CNI network each (1-4).")
    var nics: Int = 1
    @Flag(help: "Keep namespaces, plumbing and state for debugging (prints how to remove them).")
    var keep = false

    func run() throws {
        guard let architecture = Architecture(parsing: arch) else { throw ValidationError("--arch must be x86_64 or aarch64, not \(arch)") }
        guard let model = NetworkModel(rawValue: model), model != .none else {
            throw ValidationError("--model must be tcfilter or macvtap, not \(self.model)")
        }
        guard (1...4).contains(nics) else { throw ValidationError("--nics must be 1 to 4") }

        say("guest image for \(architecture.unameMachine): building or checking the cache")
        let image = try GuestImage.prepare(architecture) { say("  \($0)") }
        var options = EndToEnd.Options(architecture: architecture, model: model, nics: nics)
        options.keep = keep
        let started = Date()
        let report = try EndToEnd.run(options, image: image) { event in
            switch event {
            case .step(let s): say(s)
            case .guest(.started(let pid)): say("  QEMU pid \(pid)")
            case .guest(.stage(let s)): say("  guest: \(s)")
            case .guest(.networkUp(let seconds)): say(String(format: "  guest: network up %.1f s after QEMU started", seconds))
            case .guest(.result(let r)): say("  guest: fetched token \(r.token) from \(r.target)")
            case .guest(.consoleLine): break
            }
        }
        print("")
        let rows: [(String, String)] = [
            ("architecture", "\(architecture.unameMachine) (\(report.machine), TCG)"),
            ("model", "\(report.model)"),
            ("NICs", "\(report.nics)"),
            ("boot to network", String(format: "%.1f s", report.bootToNetworkSeconds)),
            (
                "round-trip time",
                report.results.map { String(format: "%.2f ms", $0.rttMilliseconds) + " (\($0.target))" }.joined(separator: ", ")
            ),
            (
                "throughput",
                report.results.map { "\($0.throughputKbps / 1000) Mbit/s" + " (\($0.bytes >> 20) MiB HTTP)" }.joined(separator: ", ")
            ),
            ("token", "\(report.token) echoed over every NIC"),
            ("total", String(format: "%.1f s", Date().timeIntervalSince(started)))
        ]
        for (k, v) in rows { print("  \(k.padding(toLength: 16, withPad: " ", startingAt: 0)) \(v)") }
        if let lab = report.kept {
            print(
                "\nkept for debugging: namespaces \(lab.hostNamespace) \(lab.podNamespace) \(lab.peerNamespace), state \(lab.stateDirectory)"
            )
            print(
                "remove with: SANDNET_STATE_DIR=\(lab.journalDirectory) sandnet detach --sandbox sn-lab-\(lab.id) --force; ip netns del …; rm -rf \(lab.stateDirectory)"
            )
        } else {
            print("\nleft behind: nothing (checked: \(report.checked.joined(separator: "; ")))")
        }
    }

    private func say(_ s: String) {
        FileHandle.standardError.write(Data("demo: \(s)\n".utf8))
    }
}
