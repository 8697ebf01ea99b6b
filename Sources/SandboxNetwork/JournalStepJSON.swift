import Foundation

extension JournalStep {
    /// The step's JSON written directly, in the shape its synthesized `Codable` conformance
    /// reads (`{"case":{"label":value,...}}`, nil fields left out), for the cases an attach
    /// journals by the dozen; nil for the others, which JSONEncoder writes. An attach encodes
    /// each of its steps twice (intent, then confirmation), and JSONEncoder's setup per value
    /// was most of that. Keys come in declaration order (JSONEncoder's order varies from run
    /// to run; readers never depended on it).
    var directJSON: Data? {
        var w: StepJSONWriter
        switch self {
        case .createLink(let name, let kind, let ifindex):
            w = StepJSONWriter(case: "createLink")
            w.field("name", name)
            w.field("kind", kind)
            w.field("ifindex", ifindex)
        case .addIngressQdisc(let link, let ifindex, let added):
            w = StepJSONWriter(case: "addIngressQdisc")
            w.field("link", link)
            w.field("ifindex", ifindex)
            w.field("added", added)
        case .addRedirect(let from, let to, let fromIndex, let toIndex, let priority, let handle):
            w = StepJSONWriter(case: "addRedirect")
            w.field("from", from)
            w.field("to", to)
            w.field("fromIndex", fromIndex)
            w.field("toIndex", toIndex)
            w.field("priority", priority)
            w.field("handle", handle)
        case .setTxQueueLength(let link, let ifindex, let original, let replacement):
            w = StepJSONWriter(case: "setTxQueueLength")
            w.field("link", link)
            w.field("ifindex", ifindex)
            w.field("original", original)
            w.field("replacement", replacement)
        case .addRateQdisc(let link, let ifindex, let handle, let added):
            w = StepJSONWriter(case: "addRateQdisc")
            w.field("link", link)
            w.field("ifindex", ifindex)
            w.field("handle", handle)
            w.field("added", added)
        case .addRateClass(let link, let ifindex, let classID, let rate, let added):
            w = StepJSONWriter(case: "addRateClass")
            w.field("link", link)
            w.field("ifindex", ifindex)
            w.field("classID", classID)
            w.field("rate", rate)
            w.field("added", added)
        case .setMAC, .removeAddresses:
            return nil
        }
        return w.finish()
    }
}

/// Writes one `{"case":{...}}` object of strings, integers and booleans.
struct StepJSONWriter {
    private var bytes: [UInt8] = []
    private var empty = true

    init(case name: String) {
        bytes.reserveCapacity(160)
        bytes.append(UInt8(ascii: "{"))
        Self.appendString(name, to: &bytes)
        bytes.append(contentsOf: #":{"#.utf8)
    }

    private mutating func key(_ key: String) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        Self.appendString(key, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func field(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        Self.appendString(value, to: &bytes)
    }

    mutating func field<I: BinaryInteger>(_ name: String, _ value: I?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func field(_ name: String, _ value: Bool?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    func finish() -> Data { Data(bytes + [UInt8(ascii: "}"), UInt8(ascii: "}")]) }

    /// A JSON string: quote and backslash escaped, control characters as \u00XX, the rest
    /// as the string's own UTF-8 (always valid in JSON).
    static func appendString(_ s: String, to bytes: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), b]
            case 0..<0x20: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
