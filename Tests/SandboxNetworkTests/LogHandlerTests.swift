import Foundation
import Logging
import SandnetCLI
import Synchronization
import Testing

/// The lines a handler wrote, in order.
final class CollectedLines: Sendable {
    private let lines = Mutex<[String]>([])
    var sink: LogSink { LogSink { line in self.lines.withLock { $0.append(line) } } }
    var all: [String] { lines.withLock { $0 } }
}

/// The shape of the JSON-lines and text records, without a kernel or a process.
struct LogHandlerTests {
    @Test func jsonRecordIsOneObjectOfStringsWithFlattenedMetadata() throws {
        let out = CollectedLines()
        var logger = Logger(label: "sandnet.test") { JSONLogHandler(label: $0, level: .info, sink: out.sink) }
        logger[metadataKey: "sandbox"] = "s1"
        let before = Date()
        logger.debug("dropped: below the level")
        logger.notice(
            "kernel change \"quoted\"\nsecond line\u{1}",
            metadata: [
                "object": "link sn1t0", "stepNumber": "\(3)", "nested": ["inner": "v", "deeper": ["leaf": "x"]],
                "message": "a field named like a reserved key", "list": ["a", "b"], "unicode": "ünï"
            ])
        let lines = out.all
        try #require(lines.count == 1, "\(lines)")
        let line = lines[0]
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1, "one record, one line: \(line)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], "\(line)")
        #expect(
            Set(record.keys) == [
                "time", "level", "label", "message", "sandbox", "object", "stepNumber", "nested.inner",
                "nested.deeper.leaf", "metadata.message", "list", "unicode"
            ])
        #expect(record["level"] == "notice")
        #expect(record["label"] == "sandnet.test")
        #expect(record["message"] == "kernel change \"quoted\"\nsecond line\u{1}")
        #expect(record["sandbox"] == "s1")
        #expect(record["stepNumber"] == "3")
        #expect(record["nested.deeper.leaf"] == "x")
        #expect(record["metadata.message"] == "a field named like a reserved key")
        #expect(record["unicode"] == "ünï")
        // The four fixed keys come first, in this order, so a line reads well by eye too.
        #expect(line.hasPrefix("{\"time\":"))
        #expect(line.range(of: "\"level\":")!.lowerBound < line.range(of: "\"label\":")!.lowerBound)
        #expect(line.range(of: "\"label\":")!.lowerBound < line.range(of: "\"message\":")!.lowerBound)

        let time = try #require(record["time"])
        #expect(
            (try time.wholeMatch(of: Regex(#"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"#))) != nil,
            "RFC 3339 with milliseconds, UTC: \(time)")
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let when = try #require(parser.date(from: time))
        #expect(abs(when.timeIntervalSince(before)) < 5, "the record's time is now: \(time) vs \(before)")
    }

    @Test func textRecordIsOneLineWithSortedFields() throws {
        let out = CollectedLines()
        let logger = Logger(label: "sandnet.test") { TextLogHandler(label: $0, level: .debug, sink: out.sink) }
        logger.debug("kernel change", metadata: ["object": "qdisc ingress dev eth0", "step": "addIngressQdisc", "empty": ""])
        let line = try #require(out.all.first)
        #expect(out.all.count == 1)
        #expect(
            (try line.wholeMatch(
                of: Regex(
                    #"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z debug sandnet\.test: kernel change empty="" object="qdisc ingress dev eth0" step=addIngressQdisc\n"#
                ))) != nil, "\(line)")
    }

    @Test func settingsPickTheHandlerAndLevel() {
        let out = CollectedLines()
        let settings = LogSettings(level: .error, format: .json)
        let logger = Logger(label: "x") { settings.handler(label: $0, sink: out.sink) }
        logger.warning("below error")
        logger.error("kept")
        #expect(out.all.count == 1)
        #expect(out.all.first?.hasPrefix("{") == true)
        #expect(LogSettings.standard == LogSettings(level: .warning, format: .text))
    }
}
