import Foundation

/// A CNI error object (spec, "Error"): `{"cniVersion", "code", "msg", "details"}`, printed
/// on stdout with a non-zero exit status. Codes 1-99 are the specification's; 100 and up
/// are sandnet's own.
public struct CNIFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var details: String?

    public init(_ code: Code, _ message: String, details: String? = nil) {
        self.code = code.rawValue
        self.message = message
        self.details = details
    }

    public enum Code: Int, Sendable {
        case incompatibleVersion = 1
        case unsupportedField = 2
        case unknownContainer = 3
        case invalidEnvironment = 4
        case io = 5
        case decode = 6
        case invalidNetworkConfig = 7
        case tryAgainLater = 11
        /// sandnet: the kernel lacks what the model needs (the words of `sandnet check`).
        case kernelLacksFeature = 100
        /// sandnet: an attach failed and was rolled back, or an undo could not finish.
        case wiringFailed = 101
        /// sandnet: CHECK found the wiring differs from what ADD made.
        case wiringChanged = 102
    }

    public var description: String {
        "CNI error \(code): \(message)" + (details.map { $0.isEmpty ? "" : " (\($0))" } ?? "")
    }

    /// The error object as the specification spells it.
    public func json(cniVersion: String) -> Data {
        var o: [String: Any] = ["cniVersion": cniVersion, "code": code, "msg": message]
        if let details, !details.isEmpty { o["details"] = details }
        return (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }
}

extension CNIFailure {
    /// A code the `Code` cases do not name (STATUS's 50 and 51).
    init(code: Int, _ message: String, details: String? = nil) {
        self.code = code
        self.message = message
        self.details = details
    }
}
