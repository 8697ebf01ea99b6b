import ArgumentParser

/// The `sandnet` command: what an operator runs on a node.
public struct SandnetCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "sandnet",
        abstract: "Network plumbing for VM-isolated containers: netlink, tc, taps, QEMU wiring, host checks.",
        subcommands: [
            LinkCommand.self, AddressCommand.self, RouteCommand.self, NeighbourCommand.self,
            ScanCommand.self, AttachCommand.self, DetachCommand.self, GcCommand.self,
            CheckCommand.self, ExplainCommand.self, PlugCommand.self, UnplugCommand.self, WatchCommand.self,
            QdiscCommand.self, FilterCommand.self
        ])
}
