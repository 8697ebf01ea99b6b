import ArgumentParser
import Foundation
import HostCheck

/// `sandnet explain "<message>"`: the cause and fix of an error, and whether it applies here.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain an error message or log line from the runtime, CNI or QEMU: cause, fix, and whether it applies on this host.",
        discussion: "Reads the message from the arguments, or from standard input when none is given.")

    @Argument(help: "The message or log line.")
    var message: [String] = []

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(
        help:
            "Also try the operations here (as root: a throwaway namespace, device nodes such as /dev/kvm). Without it explain changes nothing and opens no device."
    )
    var probe = false

    func run() throws {
        var text = message.joined(separator: " ")
        if text.isEmpty {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ValidationError("give a message to explain, as an argument or on standard input")
        }
        // Read-only unless asked: the check judges from the kernel configuration and modules.
        let report = HostCheck.run(CheckOptions(liveProbes: probe))
        let explanations = Explain.explain(text, report: report)
        if json { return try Output.printJSON(explanations) }
        if explanations.isEmpty {
            print("sandnet does not recognise this message. `sandnet check` lists everything this host lacks.")
            throw ExitCode(1)
        }
        for (i, e) in explanations.enumerated() {
            if i > 0 { print("") }
            print("Cause: \(e.cause)")
            print("Fix: \(e.fix)")
            switch e.appliesHere {
            case .yes: print("On this host: yes, this applies here.")
            case .no: print("On this host: no, everything it depends on works here.")
            case .unknown:
                print(probe ? "On this host: cannot tell." : "On this host: cannot tell from the configuration (--probe tries it here).")
            }
            for ev in e.evidence { print("  \(ev)") }
            for f in e.hostFixes { print("  fix here: \(f)") }
        }
    }
}
