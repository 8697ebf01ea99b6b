/// The CPU architectures sandnet wires guests for and judges hosts of.
public enum Architecture: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case x86_64
    case arm64

    /// Accepts the spellings operators and `uname -m` use: `x86_64`/`amd64`/`x86-64`,
    /// `arm64`/`aarch64`.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "x86_64", "x86-64", "amd64": self = .x86_64
        case "arm64", "aarch64": self = .arm64
        default: return nil
        }
    }

    /// The `uname -m` spelling on Linux (`aarch64` for arm64).
    public var unameMachine: String {
        switch self {
        case .x86_64: return "x86_64"
        case .arm64: return "aarch64"
        }
    }

    public var description: String { rawValue }
}
