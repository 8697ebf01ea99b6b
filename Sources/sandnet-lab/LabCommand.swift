import ArgumentParser

/// `sandnet-lab`: the test lab around sandnet. Not installed on nodes: it builds guest
/// images, runs CNI plugins and QEMU, and holds the fault-injection harness the tests use.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandnet-lab",
        abstract: "sandnet's test lab: the end-to-end demo on real parts, and the fault-injection harness.",
        subcommands: [DemoCommand.self, FaultAttachCommand.self, FaultDetachCommand.self, FaultPlugCommand.self, FaultWatchCommand.self])
}
