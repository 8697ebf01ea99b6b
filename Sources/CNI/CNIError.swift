/// Everything that can go wrong running a CNI plugin. Each prints as one sentence.
public enum CNIError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The plugin binary is not in the plugin directory.
    case pluginNotFound(plugin: String, directory: String)
    /// The plugin answered with the specification's error object.
    case plugin(PluginFailure)
    /// The plugin exited non-zero without a readable error object.
    case pluginCrashed(plugin: String, command: CNICommand, status: Int32, stderr: String)
    /// The plugin succeeded but its result breaks the specification.
    case invalidResult(plugin: String, command: CNICommand, reason: String)
    /// The plugin could not be started at all.
    case spawn(plugin: String, reason: String)
    /// Bad input caught before the plugin ran.
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .pluginNotFound(let p, let dir):
            return
                "CNI plugin \(p) not found in \(dir). Fix: install containernetworking-plugins (apt-get install containernetworking-plugins)"
        case .plugin(let f): return f.description
        case .pluginCrashed(let p, let cmd, let status, let err):
            let text = err.trimmingCharacters(in: .whitespacesAndNewlines)
            return "CNI plugin \(p) \(cmd.rawValue) exited \(status) without an error object\(text.isEmpty ? "" : ": \(text)")"
        case .invalidResult(let p, let cmd, let r): return "CNI plugin \(p) \(cmd.rawValue) returned an invalid result: \(r)"
        case .spawn(let p, let r): return "cannot run CNI plugin \(p): \(r)"
        case .invalidConfiguration(let r): return "invalid CNI network configuration: \(r)"
        }
    }
}

/// The error object a plugin prints on failure (CNI spec, "Error"):
/// `{"cniVersion", "code", "msg", "details"}`.
public struct PluginFailure: Error, Sendable, Equatable, CustomStringConvertible, Codable {
    public var plugin: String
    public var command: CNICommand
    public var code: Int
    public var message: String
    public var details: String?

    public init(plugin: String, command: CNICommand, code: Int, message: String, details: String? = nil) {
        self.plugin = plugin
        self.command = command
        self.code = code
        self.message = message
        self.details = details
    }

    /// The specification's well-known codes (1-99 are reserved for it).
    public var codeMeaning: String? {
        switch code {
        case 1: return "incompatible CNI version"
        case 2: return "unsupported field in network configuration"
        case 3: return "container unknown or does not exist"
        case 4: return "invalid necessary environment variables"
        case 5: return "I/O failure"
        case 6: return "failed to decode content"
        case 7: return "invalid network config"
        case 11: return "try again later"
        default: return nil
        }
    }

    public var description: String {
        var s = "CNI plugin \(plugin) \(command.rawValue) failed with code \(code)"
        if let m = codeMeaning { s += " (\(m))" }
        s += ": \(message)"
        if let d = details, !d.isEmpty { s += " (\(d))" }
        return s
    }
}
