import Foundation
import ProcessRunner

/// The operations of the CNI specification, as passed in `CNI_COMMAND`.
public enum CNICommand: String, Sendable, Codable {
    case add = "ADD"
    case delete = "DEL"
    case check = "CHECK"
    case version = "VERSION"
}

/// Which container interface a plugin call is about (`CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`).
public struct CNIAttachment: Sendable, Equatable {
    public var containerID: String
    /// Path of the container's network namespace ("/run/netns/NAME").
    public var namespacePath: String
    public var interfaceName: String

    public init(containerID: String, namespacePath: String, interfaceName: String) {
        self.containerID = containerID
        self.namespacePath = namespacePath
        self.interfaceName = interfaceName
    }
}

/// Runs CNI plugin binaries exactly as the specification describes: the parameters in
/// environment variables, the network configuration on stdin, the result or error on stdout.
public struct CNIPluginRunner: Sendable {
    /// `CNI_PATH`: where plugins (and the IPAM plugins they delegate to) are found.
    public var pluginDirectory: String
    /// Named namespace the plugin process runs in (`ip netns exec NAME plugin`), so the
    /// bridge and host-side veths it creates live there; nil runs it in the caller's namespace.
    public var hostNamespace: String?

    public init(pluginDirectory: String = "/usr/lib/cni", hostNamespace: String? = nil) {
        self.pluginDirectory = pluginDirectory
        self.hostNamespace = hostNamespace
    }

    /// `ADD`: creates the interface and returns the validated result.
    public func add(_ network: BridgeNetwork, _ attachment: CNIAttachment) throws -> CNIResult {
        let out = try invoke(.add, plugin: "bridge", configuration: network.configuration, attachment: attachment)
        do {
            let result = try CNIResult.parse(out)
            guard result.containerInterface(named: attachment.interfaceName) != nil else {
                throw CNIResult.ResultProblem(reason: "no interface \(attachment.interfaceName) with a sandbox path in interfaces")
            }
            guard !result.addresses(on: attachment.interfaceName).isEmpty else {
                throw CNIResult.ResultProblem(reason: "no address for \(attachment.interfaceName) in ips")
            }
            return result
        } catch let p as CNIResult.ResultProblem {
            throw CNIError.invalidResult(plugin: "bridge", command: .add, reason: p.reason)
        }
    }

    /// `CHECK`: asks the plugin whether the interface is still as `previous` says.
    public func check(_ network: BridgeNetwork, _ attachment: CNIAttachment, previous: CNIResult) throws {
        var config = network.configuration
        config["prevResult"] = try JSONSerialization.jsonObject(with: previous.raw)
        _ = try invoke(.check, plugin: "bridge", configuration: config, attachment: attachment)
    }

    /// `DEL`: removes the interface and releases its address. Succeeds when already gone.
    public func delete(_ network: BridgeNetwork, _ attachment: CNIAttachment, previous: CNIResult? = nil) throws {
        var config = network.configuration
        if let previous { config["prevResult"] = try JSONSerialization.jsonObject(with: previous.raw) }
        _ = try invoke(.delete, plugin: "bridge", configuration: config, attachment: attachment)
    }

    /// `VERSION`: the specification versions `plugin` supports.
    public func supportedVersions(of plugin: String) throws -> [String] {
        let out = try invoke(.version, plugin: plugin, configuration: ["cniVersion": cniSpecVersion], attachment: nil)
        guard let o = try? JSONSerialization.jsonObject(with: out) as? [String: Any], let versions = o["supportedVersions"] as? [String]
        else {
            throw CNIError.invalidResult(plugin: plugin, command: .version, reason: "no supportedVersions list")
        }
        return versions
    }

    /// Runs one plugin command; returns its stdout on success.
    func invoke(_ command: CNICommand, plugin: String, configuration: [String: Any], attachment: CNIAttachment?) throws -> Data {
        let path = (pluginDirectory as NSString).appendingPathComponent(plugin)
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw CNIError.pluginNotFound(plugin: plugin, directory: pluginDirectory)
        }
        guard JSONSerialization.isValidJSONObject(configuration),
            let stdin = try? JSONSerialization.data(withJSONObject: configuration, options: [.sortedKeys])
        else {
            throw CNIError.invalidConfiguration("not representable as JSON")
        }
        var environment = [
            "CNI_COMMAND": command.rawValue, "CNI_PATH": pluginDirectory,
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        ]
        if let attachment {
            environment["CNI_CONTAINERID"] = attachment.containerID
            environment["CNI_NETNS"] = attachment.namespacePath
            environment["CNI_IFNAME"] = attachment.interfaceName
        }
        let argv = hostNamespace.map { ["ip", "netns", "exec", $0, path] } ?? [path]
        let run: ProcessOutcome
        do {
            run = try ProcessRunner.run(argv, input: Array(stdin), environment: .exactly(environment), timeout: Self.pluginTimeout)
        } catch {
            throw CNIError.spawn(plugin: plugin, reason: "\(error)")
        }
        let stdout = Data(run.stdout)
        if run.succeeded { return stdout }
        if let o = try? JSONSerialization.jsonObject(with: stdout) as? [String: Any], let code = o["code"] as? Int {
            throw CNIError.plugin(
                PluginFailure(
                    plugin: plugin, command: command, code: code,
                    message: o["msg"] as? String ?? "", details: o["details"] as? String))
        }
        throw CNIError.pluginCrashed(
            plugin: plugin, command: command, status: run.termination.shellStatus,
            stderr: run.stderrText + run.stdoutText)
    }

    /// The bridge plugin and host-local IPAM finish in milliseconds; a minute means stuck.
    static let pluginTimeout: Duration = .seconds(60)
}
