import ArgumentParser
import SandnetCLI

#if canImport(Glibc)
    import Glibc
#endif

/// `sandnet-lab fault-watch`: `sandnet watch` that stops itself (SIGSTOP) at a point of its
/// plugs, so a test can send it SIGTERM mid-plug and see the plug finished, not half made.
struct FaultWatchCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault-watch",
        abstract: "Run `sandnet watch`, SIGSTOPping itself at --stop-at POINT of each plug.",
        discussion: "Takes every option of `sandnet watch`. A stopped watcher carries on when sent SIGCONT.")

    @Option(name: .customLong("stop-at"), help: "wired, netdev-added or device-added.") var stopAt: PlugPoint
    @OptionGroup var watch: WatchOptions
    var logSettings: LogSettings { watch.logSettings }

    func run() throws {
        let point = stopAt
        try watch.run(checkpoint: { if $0 == point { raise(SIGSTOP) } })
    }
}
