import ArgumentParser
import Logging
import SandboxNetwork

/// `sandnet detach --sandbox ID`: gives the namespace back exactly as attach found it.
struct DetachCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach", abstract: "Undo an attach: delete its devices and give the endpoints back their MAC, addresses and routes.")

    @OptionGroup var options: DetachOptions
    var logSettings: LogSettings { options.logSettings }

    func run() throws { try options.run() }
}

/// The options of `sandnet detach` and what it does with them; public so a test harness
/// outside the product binary can run the same detach with a `KernelChangeHook`.
public struct DetachOptions: ParsableArguments {
    public init() {}

    @Option(help: "Sandbox id given to attach.") var sandbox: String
    @Option(name: .customLong("state-dir"), help: "Journal directory (default /run/sandnet, or $SANDNET_STATE_DIR).")
    var stateDir: String?
    @Flag(help: "Detach even though the sandbox's QEMU still runs.") var force = false
    @Option(name: .customLong("lock-timeout"), help: "Seconds to wait for another sandnet process working on this sandbox.")
    var lockTimeout: Int = 30
    @OptionGroup var output: OutputOptions
    @OptionGroup var log: LogOptions

    public var logSettings: LogSettings { log.settings }

    public func validate() throws {
        guard lockTimeout >= 0 else { throw ValidationError("--lock-timeout is a number of seconds, at least 0, not \(lockTimeout)") }
    }

    public func run(afterKernelChange: KernelChangeHook? = nil) throws {
        let report = try SandboxDetach.detach(
            sandbox: sandbox, store: JournalStore(directory: stateDir), force: force,
            lockWait: .seconds(lockTimeout), logger: Logger(label: "sandnet.detach"),
            afterKernelChange: afterKernelChange)
        if output.json { return try Output.printJSON(report) }
        // Exit 0 either way: what was asked (nothing of the sandbox left) holds, and the journal is gone.
        if report.namespaceGone {
            print(
                "sandbox \(sandbox): \(report.namespaceNote ?? "namespace \(report.namespace) is gone"); nothing was touched, journal removed"
            )
        } else {
            print("sandbox \(sandbox) detached from \(report.namespace): \(report.undone.count) changes undone")
        }
    }
}
