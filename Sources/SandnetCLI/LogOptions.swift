import ArgumentParser
import Logging

/// `--log-level` and `--log-format`: how much of what the sandbox layer and the host check
/// decide goes to stderr, and in what shape. Flags only; no environment variable.
public struct LogOptions: ParsableArguments {
    public init() {}

    @Option(
        name: .customLong("log-level"),
        help: "Log records at this level and above go to stderr: trace, debug, info, notice, warning (the default), error or critical.",
        transform: LogOptions.level(_:))
    var level: Logger.Level = .warning
    @Option(name: .customLong("log-format"), help: "Log record format: text, or json (one JSON object per line).")
    var format: LogFormat = .text

    /// What was asked, as a plain value (an unparsed `LogOptions` cannot be read).
    public var settings: LogSettings { LogSettings(level: level, format: format) }

    static func level(_ text: String) throws -> Logger.Level {
        guard let l = Logger.Level(rawValue: text) else {
            throw ValidationError(
                "--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), not \(text)")
        }
        return l
    }
}

public enum LogFormat: String, CaseIterable, Sendable, ExpressibleByArgument {
    case text, json
}

public struct LogSettings: Sendable, Equatable {
    public var level: Logger.Level
    public var format: LogFormat
    public static let standard = LogSettings(level: .warning, format: .text)

    public init(level: Logger.Level, format: LogFormat) {
        self.level = level
        self.format = format
    }

    /// The handler for a logger labelled `label`, writing to `sink`.
    public func handler(label: String, sink: LogSink = .standardError) -> any LogHandler {
        switch format {
        case .text: return TextLogHandler(label: label, level: level, sink: sink)
        case .json: return JSONLogHandler(label: label, level: level, sink: sink)
        }
    }
}

/// A command whose run logs: the entry point bootstraps swift-log with its settings.
public protocol LoggingCommand {
    var logSettings: LogSettings { get }
}

enum CLILogging {
    /// Once per process, before the command runs (swift-log allows one bootstrap).
    static func bootstrap(_ settings: LogSettings) {
        LoggingSystem.bootstrap { label in settings.handler(label: label) }
    }
}
