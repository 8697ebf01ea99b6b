import ArgumentParser

struct SandnetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandnet",
        abstract: "Network plumbing for VM-isolated containers: netlink, tc, taps, QEMU wiring, host checks.",
        subcommands: [
            LinkCommand.self, AddressCommand.self, RouteCommand.self, NeighbourCommand.self,
            ScanCommand.self, AttachCommand.self, DetachCommand.self, GcCommand.self,
            CheckCommand.self, ExplainCommand.self,
            QdiscCommand.self, FilterCommand.self,
            DemoCommand.self,
        ])
}
