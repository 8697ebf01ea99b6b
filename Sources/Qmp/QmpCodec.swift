import Foundation

/// QMP as bytes: commands out, server messages in. Pure; no I/O.
public enum QmpCodec {
    /// `{"arguments":{…},"execute":NAME,"id":ID}` and a newline; keys sorted, `arguments`
    /// left out when there are none (some QEMU commands refuse an empty object).
    public static func encodeCommand(_ name: String, arguments: [String: JSONValue] = [:], id: String?) -> Data {
        var o: [String: JSONValue] = ["execute": .string(name)]
        if !arguments.isEmpty { o["arguments"] = .object(arguments) }
        if let id { o["id"] = .string(id) }
        return JSONValue.object(o).encodedLine() + Data("\n".utf8)
    }

    /// Decodes one line (without its line end) from the server.
    public static func decode(line: Data) throws(QmpDecodingError) -> QmpMessage {
        let shown = String(decoding: line.prefix(200), as: UTF8.self)
        let value: JSONValue
        do {
            value = try JSONValue.decode(line)
        } catch {
            throw QmpDecodingError(reason: "not JSON", line: shown)
        }
        guard case .object(let o) = value else { throw QmpDecodingError(reason: "not a JSON object", line: shown) }
        let id = o["id"].flatMap(idText)
        if let greeting = o["QMP"] {
            let v = greeting["version"]
            let q = v?["qemu"]
            guard let major = q?["major"]?.intValue, let minor = q?["minor"]?.intValue, let micro = q?["micro"]?.intValue else {
                throw QmpDecodingError(reason: "greeting without a version", line: shown)
            }
            let caps = greeting["capabilities"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return .greeting(
                QmpGreeting(
                    major: Int(major), minor: Int(minor), micro: Int(micro), package: v?["package"]?.stringValue ?? "",
                    capabilities: caps))
        }
        if let r = o["return"] { return .reply(QmpReply(id: id, value: r)) }
        if let e = o["error"] {
            guard let cls = e["class"]?.stringValue, let desc = e["desc"]?.stringValue else {
                throw QmpDecodingError(reason: "error without class and desc", line: shown)
            }
            return .error(QmpError(id: id, errorClass: cls, desc: desc))
        }
        if let name = o["event"]?.stringValue {
            var date: Date?
            if let s = o["timestamp"]?["seconds"]?.intValue, let us = o["timestamp"]?["microseconds"]?.intValue, s >= 0 {
                date = Date(timeIntervalSince1970: Double(s) + Double(us) / 1_000_000)
            }
            return .event(QmpEvent(name: name, timestamp: date, data: o["data"] ?? .object([:])))
        }
        throw QmpDecodingError(reason: "neither greeting, reply, error nor event", line: shown)
    }

    /// QEMU echoes `id` as it got it; sandnet sends strings, but show numbers as text too.
    private static func idText(_ v: JSONValue) -> String? {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        default: return nil
        }
    }
}

/// Splits a byte stream into lines (`\n`, with an optional `\r` before it dropped). A line
/// longer than `maximumLineLength` is refused rather than buffered without bound.
public struct QmpLineBuffer: Sendable {
    public static let defaultMaximumLineLength = 16 << 20
    private var bytes: [UInt8] = []
    public let maximumLineLength: Int

    public init(maximumLineLength: Int = defaultMaximumLineLength) {
        self.maximumLineLength = maximumLineLength
    }

    public mutating func append(_ chunk: some Sequence<UInt8>) { bytes.append(contentsOf: chunk) }

    /// Bytes held that do not yet end a line.
    public var pendingCount: Int { bytes.count }

    /// The next complete line, or nil; throws when the pending part is already too long.
    public mutating func nextLine() throws(QmpDecodingError) -> Data? {
        guard let nl = bytes.firstIndex(of: 10) else {
            if bytes.count > maximumLineLength {
                throw QmpDecodingError(
                    reason: "a line longer than \(maximumLineLength) bytes", line: String(decoding: bytes.prefix(200), as: UTF8.self))
            }
            return nil
        }
        var end = nl
        if end > 0, bytes[end - 1] == 13 { end -= 1 }
        let line = Data(bytes[..<end])
        bytes.removeSubrange(...nl)
        return line
    }
}
