import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The parts of a log record both handlers print: a timestamp and flat string fields.
enum LogRecord {
    /// Now, as RFC 3339 in UTC with milliseconds: `2025-01-31T14:03:07.123Z`.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return timestamp(seconds: Int(ts.tv_sec), milliseconds: Int(ts.tv_nsec / 1_000_000))
    }

    static func timestamp(seconds: Int, milliseconds: Int) -> String {
        var t = time_t(seconds)
        var tm = tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
            + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(Int32(milliseconds), 3))Z"
    }

    /// The handler's metadata, then the provider's, then the record's (later wins), with
    /// nested dictionaries flattened to dotted keys, sorted by key.
    static func fields(handler: Logger.Metadata, provider: Logger.MetadataProvider?, event: LogEvent) -> [(key: String, value: String)] {
        var merged = handler
        if let provided = provider?.get() { merged.merge(provided) { $1 } }
        if let m = event.metadata { merged.merge(m) { $1 } }
        var flat: [String: String] = [:]
        func add(_ prefix: String, _ value: Logger.MetadataValue) {
            switch value {
            case .dictionary(let d): for (k, v) in d { add("\(prefix).\(k)", v) }
            default: flat[prefix] = "\(value)"
            }
        }
        for (k, v) in merged { add(k, v) }
        if let error = event.error, flat["error"] == nil { flat["error"] = "\(error)" }
        return flat.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
    }
}
