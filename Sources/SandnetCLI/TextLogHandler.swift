import Logging

/// One line per record for people: `TIME LEVEL LABEL: MESSAGE key=value ...`, values
/// with spaces or quotes quoted.
public struct TextLogHandler: LogHandler {
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

    public func log(event: LogEvent) {
        var out = "\(LogRecord.timestamp()) \(event.level.rawValue) \(label): \(event.message)"
        for (key, value) in LogRecord.fields(handler: metadata, provider: metadataProvider, event: event) {
            out +=
                " \(key)="
                + (value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline })
                    ? quoted(value) : value)
        }
        sink.write(out + "\n")
    }

    private func quoted(_ s: String) -> String {
        var out = ""
        JSONLogHandler.appendQuoted(s, to: &out)
        return out
    }
}
