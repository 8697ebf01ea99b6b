import ArgumentParser
import Foundation
import Logging
import QemuWiring
import SandboxNetwork
import SandnetCore

/// `sandnet attach`: plumbs every endpoint of a pod's namespace for a VM, writes the
/// guest description, and optionally execs QEMU with exactly the descriptors it needs.
struct AttachCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Connect every endpoint of a pod's namespace to a sandbox VM (tcfilter, macvtap or none).",
        discussion:
            "With --exec, everything after `--` is the QEMU command line; sandnet appends its -device/-netdev arguments and execs it with only the queue and vhost descriptors open."
    )

    @OptionGroup var options: AttachOptions

    var logSettings: LogSettings { options.logSettings }

    func run() throws { try options.run() }
}

/// The options of `sandnet attach` and what it does with them; public so a test harness
/// outside the product binary can run the same attach with a `KernelChangeHook`.
public struct AttachOptions: ParsableArguments {
    public init() {}

    @Option(name: .customLong("netns"), help: "The pod's network namespace: a name under /run/netns or a path.")
    var netns: String
    @Option(help: "Sandbox id (letters, digits, '-', '_', '.').") var sandbox: String
    @Option(help: "Model for every endpoint: tcfilter, macvtap or none.") var model: String = "tcfilter"
    @Option(name: .customLong("endpoint-model"), help: "Per-endpoint override NAME=MODEL (repeatable).")
    var endpointModels: [String] = []
    @Option(help: "vCPUs of the VM: one queue pair per vCPU.") var vcpus: Int = 1
    @Option(help: "Guest architecture: x86_64 (q35) or arm64 (virt).") var arch: String = "x86_64"
    @Option(
        name: .customLong("spare-ports"), help: "Extra empty PCIe root ports for hotplug (with the NICs at most 120 on q35, 128 on virt).")
    var sparePorts: Int = 0
    @Option(name: .customLong("resolv-conf"), help: "resolv.conf whose DNS lines go into the guest description.")
    var resolvConf: String?
    @Option(name: .customLong("guest-description"), help: "Write the guest description (docs/guest-description.md) here.")
    var guestDescription: String?
    @Option(name: .customLong("state-dir"), help: "Journal directory (default /run/sandnet, or $SANDNET_STATE_DIR).")
    var stateDir: String?
    @Flag(name: .customLong("exec"), help: "Exec the QEMU command line given after `--`.") var exec = false
    @OptionGroup var tuning: AttachTuningOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var log: LogOptions
    @Argument(parsing: .postTerminator, help: "QEMU command line (with --exec).") var qemu: [String] = []

    public var logSettings: LogSettings { log.settings }

    public func validate() throws {
        guard NetworkModel(rawValue: model) != nil else { throw ValidationError("--model must be tcfilter, macvtap or none, not \(model)") }
        guard Architecture(parsing: arch) != nil else { throw ValidationError("--arch must be x86_64 or arm64, not \(arch)") }
        if exec && qemu.isEmpty { throw ValidationError("--exec needs the QEMU command line after `--`") }
        if !exec && !qemu.isEmpty { throw ValidationError("a command line after `--` needs --exec") }
        for o in endpointModels {
            let p = o.split(separator: "=", maxSplits: 1)
            guard p.count == 2, NetworkModel(rawValue: String(p[1])) != nil else {
                throw ValidationError("--endpoint-model takes NAME=MODEL with MODEL tcfilter, macvtap or none, not \(o)")
            }
        }
    }

    public func run(afterKernelChange: KernelChangeHook? = nil) throws {
        var overrides: [String: NetworkModel] = [:]
        for o in endpointModels {
            let p = o.split(separator: "=", maxSplits: 1)
            overrides[String(p[0])] = NetworkModel(rawValue: String(p[1]))!
        }
        var resolv: String?
        if let resolvConf {
            guard let text = try? String(contentsOfFile: resolvConf, encoding: .utf8) else {
                throw SandboxError.invalidArgument("cannot read --resolv-conf \(resolvConf)")
            }
            resolv = text
        }
        // What can be known of the outputs is checked before the first change.
        if let guestDescription, let why = WritableTarget.problem(guestDescription) {
            throw SandboxError.invalidArgument("--guest-description \(guestDescription): \(why); nothing was changed")
        }
        var program: String?
        if exec {
            switch ProgramLookup.resolve(qemu[0], searchPath: ProcessInfo.processInfo.environment["PATH"]) {
            case .success(let p): program = p
            case .failure(let f): throw SandboxError.invalidArgument("--exec: cannot run \(qemu[0]): \(f.reason); nothing was changed")
            }
        }
        let ns = try NamespaceOptions.existing(netns)
        var settings = AttachSettings(
            sandbox: sandbox, namespace: ns.path, model: NetworkModel(rawValue: model)!,
            modelOverrides: overrides, vcpus: vcpus, architecture: Architecture(parsing: arch)!,
            sparePorts: sparePorts, resolvConf: resolv, ownedByProcess: exec)
        try tuning.apply(to: &settings)
        let store = JournalStore(directory: stateDir)
        let result = try SandboxAttach.attach(
            settings, store: store, logger: Logger(label: "sandnet.attach"),
            afterKernelChange: afterKernelChange)
        if let guestDescription {
            do { try result.guestDescription.encoded().write(to: URL(fileURLWithPath: guestDescription), options: .atomic) } catch {
                // Checked writable before the attach, so this failed late (disk full, a race): undo rather than leave it.
                result.closeDescriptors()
                let undone = (try? SandboxDetach.detach(sandbox: sandbox, store: store, force: true)) != nil
                throw SandboxError.invalidArgument(
                    "cannot write the guest description to \(guestDescription): \(error.localizedDescription); "
                        + (undone ? "the attach was undone" : "the sandbox stays attached (sandnet detach --sandbox \(sandbox))"))
            }
        }
        if exec, let program {
            let argv = qemu + result.summary.qemuArguments
            do { try QemuExec.exec(path: program, arguments: argv, keeping: result.descriptors) } catch {
                // exec closed every other descriptor: undoing here is not safe, the journal says what to undo.
                throw SandboxError.invalidArgument(
                    "\(error); the sandbox stays attached and its owner (this process) is gone: "
                        + "sandnet gc or sandnet detach --sandbox \(sandbox) undoes it")
            }
        }
        result.closeDescriptors()
        if output.json { return try Output.printJSON(result.summary) }
        Output.printTable(
            result.summary.endpoints.map { e in
                [
                    e.name, e.linkClass.rawValue, e.model.rawValue, e.device ?? "-", e.guestMAC.description, "\(e.queues)",
                    e.vhost ? "vhost" : "-"
                ]
            }, header: ["ENDPOINT", "CLASS", "MODEL", "DEVICE", "GUEST MAC", "QUEUES", "VHOST"])
        print("link group \(result.summary.linkGroup), \(result.summary.kernelChanges) kernel changes")
        if !result.summary.qemuArguments.isEmpty {
            print("QEMU arguments (descriptors are valid only with --exec):")
            print("  " + result.summary.qemuArguments.joined(separator: " "))
        }
    }
}
