import ArgumentParser
import SandboxNetwork
import SandnetCLI

#if canImport(Glibc)
    import Glibc
#endif

/// `sandnet-lab fault-plug`: `sandnet plug` that stops itself (SIGSTOP) at a point of the
/// plug, so a test can send it SIGTERM there and see it finish or roll back, never half.
struct FaultPlugCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault-plug",
        abstract: "Run `sandnet plug`, SIGSTOPping itself at --stop-at POINT or after its Nth host kernel change (--stop-after).",
        discussion: "Takes every option of `sandnet plug`. A stopped plug carries on when sent SIGCONT.")

    @Option(name: .customLong("stop-at"), help: "wired, netdev-added or device-added.") var stopAt: PlugPoint?
    @Option(name: .customLong("stop-after"), help: "SIGSTOP right after this kernel change of the host side (1 = the first).")
    var stopAfter: Int?
    @OptionGroup var plug: PlugOptions
    var logSettings: LogSettings { plug.logSettings }

    func validate() throws {
        guard stopAt != nil || stopAfter != nil else { throw ValidationError("give --stop-at POINT or --stop-after N") }
    }

    func run() throws {
        let (point, change) = (stopAt, stopAfter)
        try plug.run(
            checkpoint: { if $0 == point { raise(SIGSTOP) } },
            afterKernelChange: { if $0 == change { raise(SIGSTOP) } })
    }
}
