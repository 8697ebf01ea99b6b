import Foundation

/// One plugin invocation as the specification passes it: `CNI_*` environment variables
/// and the network configuration on stdin.
public struct CNIRequest: Sendable {
    public enum Command: String, Sendable {
        case add = "ADD"
        case delete = "DEL"
        case check = "CHECK"
        case version = "VERSION"
        case status = "STATUS"
        case gc = "GC"
    }

    public var command: Command
    public var containerID: String
    public var netns: String
    public var interfaceName: String
    /// `CNI_ARGS`: "KEY=VALUE;KEY=VALUE".
    public var arguments: [String: String]
    public var configuration: PluginConfiguration

    /// The version to answer an error in before the configuration could be read.
    public static func errorVersion(stdin: Data) -> String {
        let o = (try? JSONSerialization.jsonObject(with: stdin)) as? [String: Any]
        return (o?["cniVersion"] as? String).flatMap { CNIVersions.supported.contains($0) ? $0 : nil } ?? CNIVersions.latest
    }

    /// Parses the environment; which variables are required depends on the command (spec, "Parameters").
    public static func parse(environment env: [String: String], stdin: Data) throws -> CNIRequest {
        guard let raw = env["CNI_COMMAND"], !raw.isEmpty else {
            throw CNIFailure(.invalidEnvironment, "CNI_COMMAND is not set", details: "set it to ADD, DEL, CHECK, VERSION, STATUS or GC")
        }
        guard let command = Command(rawValue: raw) else {
            throw CNIFailure(.invalidEnvironment, "CNI_COMMAND \(raw) is not one of ADD, DEL, CHECK, VERSION, STATUS, GC")
        }
        let configuration: PluginConfiguration
        if command == .version {
            configuration = PluginConfiguration.forVersion(stdin: stdin)
        } else {
            configuration = try PluginConfiguration.parse(stdin)
        }
        func need(_ name: String) throws -> String {
            guard let v = env[name], !v.isEmpty else {
                throw CNIFailure(.invalidEnvironment, "\(name) is not set; \(command.rawValue) needs it")
            }
            return v
        }
        let perAttachment: Set<Command> = [.add, .delete, .check]
        let containerID = perAttachment.contains(command) ? try need("CNI_CONTAINERID") : ""
        let interfaceName = perAttachment.contains(command) ? try need("CNI_IFNAME") : ""
        // DEL may come without a namespace (the container is gone): the journal still says what to undo.
        let netns = (command == .add || command == .check) ? try need("CNI_NETNS") : env["CNI_NETNS"] ?? ""
        if perAttachment.contains(command) {
            guard containerID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }) else {
                throw CNIFailure(
                    .invalidEnvironment, "CNI_CONTAINERID \"\(containerID)\" has characters other than letters, digits, '_', '.', '-'")
            }
            guard interfaceName.utf8.count <= 15, !interfaceName.contains("/"), interfaceName != ".", interfaceName != ".." else {
                throw CNIFailure(.invalidEnvironment, "CNI_IFNAME \"\(interfaceName)\" is not a valid Linux interface name")
            }
        }
        var arguments: [String: String] = [:]
        for pair in (env["CNI_ARGS"] ?? "").split(separator: ";") where !pair.isEmpty {
            guard let eq = pair.firstIndex(of: "=") else {
                throw CNIFailure(.invalidEnvironment, "CNI_ARGS entry \"\(pair)\" is not KEY=VALUE")
            }
            arguments[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        return CNIRequest(
            command: command, containerID: containerID, netns: netns, interfaceName: interfaceName, arguments: arguments,
            configuration: configuration)
    }

    public var key: AttachmentKey {
        AttachmentKey(network: configuration.name, containerID: containerID, interfaceName: interfaceName)
    }
}
