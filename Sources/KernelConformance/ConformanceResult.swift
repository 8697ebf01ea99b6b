import Foundation

/// One check's outcome, as the lab prints it (one JSON line per check) and the host reads it.
public struct ConformanceResult: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable {
        case pass, fail, skip
    }
    public var name: String
    public var feature: String
    public var outcome: Outcome
    /// Why it failed or was skipped.
    public var message: String?
    public var seconds: Double

    public init(name: String, feature: String, outcome: Outcome, message: String? = nil, seconds: Double = 0) {
        self.name = name
        self.feature = feature
        self.outcome = outcome
        self.message = message
        self.seconds = seconds
    }

    /// Runs `check` unless this kernel lacks its feature.
    public static func run(_ check: ConformanceCheck) -> ConformanceResult {
        let start = ContinuousClock.now
        guard check.available() else {
            return ConformanceResult(name: check.name, feature: check.feature, outcome: .skip, message: "kernel lacks \(check.lacking)")
        }
        do {
            try check.run()
            return ConformanceResult(name: check.name, feature: check.feature, outcome: .pass, seconds: seconds(since: start))
        } catch {
            return ConformanceResult(
                name: check.name, feature: check.feature, outcome: .fail, message: String(describing: error), seconds: seconds(since: start)
            )
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// The console line: `SANDNET-LAB-RESULT {json}`.
    public static let linePrefix = "SANDNET-LAB-RESULT "
    public var line: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Self.linePrefix + String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
