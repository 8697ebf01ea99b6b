/// A conformance check found the kernel, sandnet and iproute2 disagreeing: names the check
/// and every difference seen, each a sentence saying what differed.
public struct ConformanceFailure: Error, CustomStringConvertible, Sendable, Equatable {
    public var check: String
    public var differences: [String]

    public init(check: String, differences: [String]) {
        self.check = check
        self.differences = differences
    }

    public var description: String {
        "\(check): " + differences.joined(separator: "; ")
    }
}
