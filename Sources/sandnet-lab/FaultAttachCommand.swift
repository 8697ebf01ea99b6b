import ArgumentParser
import SandboxNetwork
import SandnetCLI

/// `sandnet-lab fault-attach`: `sandnet attach` that kills or stops itself right after
/// its Nth kernel change, so tests can prove `gc` and rollback undo any prefix of an attach.
struct FaultAttachCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "fault-attach",
        abstract: "Run `sandnet attach`, SIGKILLing (--kill-after) or SIGSTOPping (--stop-after) itself after its Nth kernel change.",
        discussion: "Takes every option of `sandnet attach`. A stopped attach carries on when sent SIGCONT.")

    @OptionGroup var fault: FaultPoint
    @OptionGroup var attach: AttachOptions
    var logSettings: LogSettings { attach.logSettings }

    func run() throws { try attach.run(afterKernelChange: fault.hook()) }
}
