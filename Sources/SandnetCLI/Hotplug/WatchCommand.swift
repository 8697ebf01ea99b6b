import ArgumentParser
import Foundation
import Logging
import NetlinkSocket
import SandboxNetwork
import SandnetCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Set by SIGTERM and SIGINT (a C signal handler can only reach globals).
private let watchStopRequested = Atomic<Bool>(false)

/// `sandnet watch`: plugs the pod namespace's new endpoints and unplugs removed ones until SIGTERM.
struct WatchCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Keep a running sandbox VM's NICs equal to its pod namespace's endpoints (plug new ones, unplug removed ones).",
        discussion:
            "A new endpoint is plugged once it is up with an address. State comes from the journal and QEMU, so a restarted watcher carries on. SIGTERM stops it after the current plug or unplug."
    )

    @OptionGroup var options: WatchOptions
    var logSettings: LogSettings { options.logSettings }

    func run() throws { try options.run() }
}

/// The options and the run of `sandnet watch`, shared with `sandnet-lab fault-watch`.
public struct WatchOptions: ParsableArguments {
    public init() {}

    @OptionGroup var hotplug: HotplugOptions
    @Option(help: "Model for plugged endpoints: tcfilter or macvtap.") var model: String = "tcfilter"
    @Option(name: .customLong("settle-ms"), help: "Quiet time after the last namespace event before acting.") var settleMs: Int = 300
    @Option(name: .customLong("retry-ms"), help: "Wait before retrying after a failed plug or unplug.") var retryMs: Int = 2000
    @Option(
        name: .customLong("receive-buffer-bytes"),
        help: ArgumentHelp(
            "Event socket receive buffer (SO_RCVBUFFORCE); small values make lost events (ENOBUFS) likely, for tests.", visibility: .hidden)
    )
    var receiveBufferBytes: Int32?
    @OptionGroup var log: LogOptions
    public var logSettings: LogSettings { log.settings }

    public func validate() throws {
        guard let m = NetworkModel(rawValue: model), m != .none else {
            throw ValidationError("--model must be tcfilter or macvtap, not \(model)")
        }
        guard (0...60_000).contains(settleMs), (10...600_000).contains(retryMs) else {
            throw ValidationError("--settle-ms must be 0-60000 and --retry-ms 10-600000")
        }
    }

    /// `checkpoint`: fault injection only (sandnet-lab fault-watch), at each point of each plug.
    public func run(checkpoint: PlugCheckpoint? = nil) throws {
        let journal = try SandboxPlug.journal(sandbox: hotplug.sandbox, store: JournalStore(directory: hotplug.stateDir))
        var driver = try hotplug.driver(label: "sandnet.watch")
        driver.checkpoint = checkpoint
        defer { driver.qmp.close() }
        let watcher = HotplugWatcher(
            driver: driver, namespace: .path(journal.namespacePath), model: NetworkModel(rawValue: model)!,
            settle: .milliseconds(settleMs), retry: .milliseconds(retryMs), receiveBufferBytes: receiveBufferBytes,
            logger: Logger(label: "sandnet.watch"))
        for s in [SIGTERM, SIGINT] { signal(s) { _ in watchStopRequested.store(true, ordering: .relaxed) } }
        let relay = Thread {
            while !watchStopRequested.load(ordering: .relaxed) { Thread.sleep(forTimeInterval: 0.05) }
            watcher.stop()
        }
        relay.start()
        defer { watchStopRequested.store(true, ordering: .relaxed) }
        try watcher.run()
    }
}
