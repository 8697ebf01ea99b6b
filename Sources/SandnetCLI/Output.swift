import ArgumentParser
import Foundation
import NetlinkSocket

// Shared by every subcommand: how to pick a namespace, print JSON or a table, and fail.
// Errors print as one sentence (the error's `description`, which carries its fix);
// exit status 1 means the operation failed, 2 means the command line was wrong.

/// `--netns NAME|PATH`, as `ip -n` takes it: a name under /run/netns, or a path when it has a '/'.
struct NamespaceOptions: ParsableArguments {
    @Option(name: .customLong("netns"), help: "Network namespace: a name under /run/netns or a path (default: this one).")
    var netns: String?

    /// The namespace asked for, checked to exist so the error can say so plainly.
    func namespace() throws -> NetworkNamespace? { try netns.map(Self.existing) }

    /// `spec` (a name under /run/netns or a path) as a namespace that exists, or the error
    /// that says why not.
    static func existing(_ spec: String) throws -> NetworkNamespace {
        let ns = NetworkNamespace.parse(spec)
        var st = stat()
        if stat(ns.path, &st) != 0 {
            let e = errno
            if e == EACCES {
                throw NetlinkError.invalidArgument(
                    operation: "open \(ns)",
                    reason: "permission denied: this user may not reach \(ns.path) (\(errnoText(e))). Fix: run as root")
            }
            guard e == ENOENT || e == ENOTDIR else {
                throw NetlinkError.system(operation: "open network namespace", object: ns.path, errno: e)
            }
            throw NetlinkError.invalidArgument(
                operation: "open \(ns)",
                reason: "\(ns.path) does not exist. Fix: check the name with `ip netns list`" + (ns.name == nil ? "" : " or pass a path"))
        }
        return ns
    }
}

/// `--json`
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print JSON (stable keys, see docs/cli-json.md) instead of a table.")
    var json = false
}

enum Output {
    /// Pretty JSON with sorted keys; absent values are left out, never printed as null.
    static func printJSON<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        print(String(decoding: data, as: UTF8.self))
    }

    /// Left-aligned columns separated by two spaces; the last column is not padded.
    static func table(_ rows: [[String]], header: [String]? = nil) -> String {
        let all = (header.map { [$0] } ?? []) + rows
        guard let columns = all.map(\.count).max(), columns > 0 else { return "" }
        var widths = [Int](repeating: 0, count: columns)
        for row in all { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return all.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    static func printTable(_ rows: [[String]], header: [String]? = nil) {
        let text = table(rows, header: header)
        if !text.isEmpty { print(text) }
    }

    static func printError(_ message: String, program: String = "sandnet") {
        FileHandle.standardError.write(Data("\(program): \(message)\n".utf8))
    }
}

extension ParsableCommand {
    /// Parses, runs, and maps failures to exit codes: usage errors 2, operational errors 1
    /// with the error's one-sentence description on stderr.
    public static func runAsCLI() -> Never {
        do {
            var command = try parseAsRoot()
            CLILogging.bootstrap((command as? any LoggingCommand)?.logSettings ?? .standard)
            try command.run()
            Foundation.exit(0)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            if code == .success { exit(withError: error) } // --help, --version
            Output.printError("\(error)", program: configuration.commandName ?? "sandnet")
            Foundation.exit(1)
        }
    }
}
