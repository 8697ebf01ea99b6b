import ArgumentParser
import Logging
import SandboxNetwork

/// `sandnet detach --sandbox ID`: gives the namespace back exactly as attach found it.
struct DetachCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach", abstract: "Undo an attach: delete its devices and give the endpoints back their MAC, addresses and routes.")

    @Option(help: "Sandbox id given to attach.") var sandbox: String
    @Option(name: .customLong("state-dir"), help: "Journal directory (default /run/sandnet, or $SANDNET_STATE_DIR).")
    var stateDir: String?
    @Flag(help: "Detach even though the sandbox's QEMU still runs.") var force = false
    @OptionGroup var output: OutputOptions
    @OptionGroup var log: LogOptions
    var logSettings: LogSettings { log.settings }

    func run() throws {
        let report = try SandboxDetach.detach(sandbox: sandbox, store: JournalStore(directory: stateDir), force: force,
                                              logger: Logger(label: "sandnet.detach"))
        if output.json { return try Output.printJSON(report) }
        // Exit 0 either way: what was asked (nothing of the sandbox left) holds, and the journal is gone.
        if report.namespaceGone {
            print("sandbox \(sandbox): \(report.namespaceNote ?? "namespace \(report.namespace) is gone"); nothing was touched, journal removed")
        }
        else { print("sandbox \(sandbox) detached from \(report.namespace): \(report.undone.count) changes undone") }
    }
}
