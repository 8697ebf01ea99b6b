import Logging

/// One JSON object per line: `time` (RFC 3339, UTC, milliseconds), `level`, `label`,
/// `message`, then every metadata field as a string (nested keys dotted; a field named
/// like one of those four gets a `metadata.` prefix). A script can follow it line by line.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let sink: LogSink

    public init(
        label: String, level: Logger.Level, sink: LogSink = .standardError,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        self.label = label
        self.logLevel = level
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    static let reserved: Set<String> = ["time", "level", "label", "message"]

    public func log(event: LogEvent) {
        var out = "{\"time\":\"\(LogRecord.timestamp())\",\"level\":\"\(event.level.rawValue)\",\"label\":"
        Self.appendQuoted(label, to: &out)
        out += ",\"message\":"
        Self.appendQuoted(event.message.description, to: &out)
        for (key, value) in LogRecord.fields(handler: metadata, provider: metadataProvider, event: event) {
            out += ","
            Self.appendQuoted(Self.reserved.contains(key) ? "metadata.\(key)" : key, to: &out)
            out += ":"
            Self.appendQuoted(value, to: &out)
        }
        out += "}\n"
        sink.write(out)
    }

    /// `s` as a JSON string (RFC 8259: quote, backslash and control characters escaped).
    static func appendQuoted(_ s: String, to out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20 || u.value == 0x7f:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }
}
