/// What one check found to differ. A check notes every difference it can (like `#expect`)
/// and throws them together at the end (`finish`), or at once where going on makes no sense
/// (`require`).
public struct Differences: Sendable {
    public let check: String
    public private(set) var found: [String] = []

    public init(_ check: String) { self.check = check }

    /// Notes `what` unless `ok`.
    public mutating func expect(_ ok: Bool, _ what: @autoclosure () -> String) {
        if !ok { found.append(what()) }
    }

    /// Notes a difference found elsewhere (a comparison's own list).
    public mutating func add(_ more: [String]) { found += more }

    /// The value, or a failure with everything noted so far and `what`.
    public func require<T>(_ value: T?, _ what: @autoclosure () -> String) throws(ConformanceFailure) -> T {
        guard let value else { throw ConformanceFailure(check: check, differences: found + [what()]) }
        return value
    }

    /// Throws what was noted, if anything.
    public func finish() throws(ConformanceFailure) {
        if !found.isEmpty { throw ConformanceFailure(check: check, differences: found) }
    }
}
