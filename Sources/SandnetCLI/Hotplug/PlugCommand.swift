import ArgumentParser
import Foundation
import SandboxNetwork
import SandnetCore

/// `sandnet plug`: wires one endpoint on the host and hot-adds its NIC over QMP.
struct PlugCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "plug",
        abstract: "Hot-add one endpoint of the pod's namespace to a running sandbox VM, on a spare PCIe root port.",
        discussion: "The sandbox must have been attached with --spare-ports. With no --endpoint, the one endpoint without a NIC.")

    @OptionGroup var hotplug: HotplugOptions
    @Option(help: "The endpoint to plug (default: the one endpoint without a NIC).") var endpoint: String?
    @Option(help: "Model: tcfilter or macvtap.") var model: String = "tcfilter"
    @Option(help: "Queue pairs (default: as many as the attach gave its NICs).") var queues: Int?
    @OptionGroup var output: OutputOptions
    @OptionGroup var log: LogOptions
    var logSettings: LogSettings { log.settings }

    struct Report: Encodable {
        var sandbox: String
        var endpoint: String
        var rootPort: String
        var device: String
        var milliseconds: Int
    }

    func validate() throws {
        guard let m = NetworkModel(rawValue: model), m != .none else {
            throw ValidationError("--model must be tcfilter or macvtap, not \(model)")
        }
    }

    func run() throws {
        let driver = try hotplug.driver(label: "sandnet.plug")
        defer { driver.qmp.close() }
        let p = try driver.plug(
            PlugSettings(sandbox: hotplug.sandbox, endpoint: endpoint, model: NetworkModel(rawValue: model)!, queues: queues))
        let r = Report(
            sandbox: hotplug.sandbox, endpoint: p.endpoint, rootPort: p.rootPort, device: p.device,
            milliseconds: HotplugWatcher.milliseconds(p.total))
        if output.json { return try Output.printJSON(r) }
        print("sandbox \(r.sandbox): plugged \(r.endpoint) as \(r.device) on root port \(r.rootPort) in \(r.milliseconds) ms")
    }
}

/// `sandnet unplug`: takes a plugged endpoint's NIC out of the VM and undoes its host side.
struct UnplugCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "unplug",
        abstract: "Hot-remove a plugged endpoint's NIC from a running sandbox VM and undo its host side.",
        discussion:
            "Waits --unplug-timeout seconds for the guest to release the NIC; on a timeout it exits non-zero and keeps the state, so running it again finishes the job."
    )

    @OptionGroup var hotplug: HotplugOptions
    @Option(help: "The plugged endpoint.") var endpoint: String
    @OptionGroup var log: LogOptions
    var logSettings: LogSettings { log.settings }

    func run() throws {
        let driver = try hotplug.driver(label: "sandnet.unplug")
        defer { driver.qmp.close() }
        try driver.unplug(endpoint: endpoint)
        print("sandbox \(hotplug.sandbox): unplugged \(endpoint)")
    }
}
