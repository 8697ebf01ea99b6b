import ArgumentParser
import Foundation
import SandboxNetwork
import SandnetCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Set by SIGTERM and SIGINT during a plug (a C signal handler can only reach globals).
private let plugStopRequested = Atomic<Bool>(false)

/// `sandnet plug`: wires one endpoint on the host and hot-adds its NIC over QMP.
struct PlugCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "plug",
        abstract: "Hot-add one endpoint of the pod's namespace to a running sandbox VM, on a spare PCIe root port.",
        discussion:
            "The sandbox must have been attached with --spare-ports. With no --endpoint, the one endpoint without a NIC. SIGTERM before device_add rolls the plug back; after it, the plug is finished."
    )

    @OptionGroup var options: PlugOptions
    var logSettings: LogSettings { options.logSettings }

    func run() throws { try options.run() }
}

/// The options and the run of `sandnet plug`, shared with `sandnet-lab fault-plug`.
public struct PlugOptions: ParsableArguments {
    public init() {}

    @OptionGroup var hotplug: HotplugOptions
    @Option(help: "The endpoint to plug (default: the one endpoint without a NIC).") var endpoint: String?
    @Option(help: "Model: tcfilter or macvtap.") var model: String = "tcfilter"
    @Option(help: "Queue pairs (default: as many as the attach gave its NICs).") var queues: Int?
    @OptionGroup var output: OutputOptions
    @OptionGroup var log: LogOptions
    public var logSettings: LogSettings { log.settings }

    struct Report: Encodable {
        var sandbox: String
        var endpoint: String
        var rootPort: String
        var device: String
        var milliseconds: Int
    }

    public func validate() throws {
        guard let m = NetworkModel(rawValue: model), m != .none else {
            throw ValidationError("--model must be tcfilter or macvtap, not \(model)")
        }
    }

    /// `checkpoint` and `afterKernelChange`: fault injection only (sandnet-lab fault-plug).
    public func run(checkpoint: PlugCheckpoint? = nil, afterKernelChange: KernelChangeHook? = nil) throws {
        // Caught from before the first change: a signal stops the plug at its next step, rolled back.
        for s in [SIGTERM, SIGINT] { signal(s) { _ in plugStopRequested.store(true, ordering: .relaxed) } }
        var driver = try hotplug.driver(label: "sandnet.plug")
        defer { driver.qmp.close() }
        driver.stopRequested = { plugStopRequested.load(ordering: .relaxed) }
        driver.checkpoint = checkpoint
        driver.afterKernelChange = afterKernelChange
        let p = try driver.plug(
            PlugSettings(sandbox: hotplug.sandbox, endpoint: endpoint, model: NetworkModel(rawValue: model)!, queues: queues))
        if plugStopRequested.load(ordering: .relaxed) {
            driver.logger.warning(
                "a signal came after device_add; the plug was finished, not undone", metadata: ["endpoint": "\(p.endpoint)"])
        }
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
        abstract: "Hot-remove an endpoint's NIC (plugged, or wired by attach) from a running sandbox VM and undo its host side.",
        discussion:
            "Waits --unplug-timeout seconds for the guest to release the NIC; on a timeout it exits non-zero and keeps the state, so running it again finishes the job."
    )

    @OptionGroup var hotplug: HotplugOptions
    @Option(help: "The endpoint (plugged, or wired by attach).") var endpoint: String
    @OptionGroup var log: LogOptions
    var logSettings: LogSettings { log.settings }

    func run() throws {
        let driver = try hotplug.driver(label: "sandnet.unplug")
        defer { driver.qmp.close() }
        try driver.unplug(endpoint: endpoint)
        print("sandbox \(hotplug.sandbox): unplugged \(endpoint)")
    }
}
