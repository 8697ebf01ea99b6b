/// What the kernel said about a request it carried out: an extended-ACK message on a
/// successful acknowledgement ("Warning: sch_htb: quantum of class 10001 is big"). The
/// change was made; the text is advice for the operator.
public struct KernelWarning: Sendable, Equatable, CustomStringConvertible {
    /// The request, in the words of the operation that sent it ("add htb class 1:10").
    public var operation: String
    /// The object it was about, when known.
    public var object: String?
    /// The kernel's text, as it gave it.
    public var message: String

    public init(operation: String, object: String?, message: String) {
        self.operation = operation
        self.object = object
        self.message = message
    }

    public var description: String {
        "the kernel warned about \(operation)\(object.map { " (\($0))" } ?? ""): \(message)"
    }
}

/// Where a socket hands the warnings it receives. Called on the thread that made the request.
public typealias KernelWarningHandler = @Sendable (KernelWarning) -> Void
