import ArgumentParser
import Logging
import SandboxNetwork

/// `sandnet gc`: undoes sandboxes whose attach or QEMU died.
struct GcCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Undo every sandbox whose attach was killed or whose QEMU has exited.")

    @Option(name: .customLong("state-dir"), help: "Journal directory (default /run/sandnet, or $SANDNET_STATE_DIR).")
    var stateDir: String?
    @Option(
        name: .customLong("lock-timeout"), help: "Seconds to wait for a sandbox another sandnet process holds before reporting it busy.")
    var lockTimeout: Int = 5
    @OptionGroup var output: OutputOptions
    @OptionGroup var log: LogOptions
    var logSettings: LogSettings { log.settings }

    struct Result: Encodable {
        var collected: [DetachReport]
        var errors: [String]
    }

    func validate() throws {
        guard lockTimeout >= 0 else { throw ValidationError("--lock-timeout is a number of seconds, at least 0, not \(lockTimeout)") }
    }

    func run() throws {
        let (reports, errors) = SandboxDetach.collectGarbage(
            store: JournalStore(directory: stateDir), lockWait: .seconds(lockTimeout),
            logger: Logger(label: "sandnet.gc"))
        if output.json {
            try Output.printJSON(Result(collected: reports, errors: errors))
        } else {
            for r in reports {
                print(
                    "sandbox \(r.sandbox): \(r.namespaceGone ? "\(r.namespaceNote ?? "namespace gone"); nothing touched" : "\(r.undone.count) changes undone")"
                )
            }
            if reports.isEmpty && errors.isEmpty { print("nothing to collect") }
        }
        for e in errors { Output.printError(e) }
        if !errors.isEmpty { throw ExitCode.failure }
    }
}
