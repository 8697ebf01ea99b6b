/// `ip` or `tc`, run for a cross-check, failed.
public struct LabCommandError: Error, CustomStringConvertible, Sendable {
    public var argv: [String]
    public var status: Int32
    public var stderr: String

    public var description: String {
        "`\(argv.joined(separator: " "))` exited \(status): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}
