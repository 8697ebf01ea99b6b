/// An address with a prefix length, written `198.51.100.2/24`.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible, Codable {
    public var address: IPAddress
    public var length: Int
    public init(address: IPAddress, length: Int) {
        self.address = address
        self.length = length
    }
    public init?(_ text: String) {
        // Empty pieces kept: "" and "198.51.100.2/" are no prefixes (an empty text once trapped
        // on parts[0]; the journal fuzzer found it).
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let a = IPAddress(String(parts[0])) else { return nil }
        if parts.count == 2 {
            guard let l = Int(parts[1]), l >= 0, l <= a.bitLength else { return nil }
            self.init(address: a, length: l)
        } else {
            self.init(address: a, length: a.bitLength)
        }
    }
    public var description: String { "\(address)/\(length)" }
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let p = IPPrefix(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad prefix \(s)"))
        }
        self = p
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
