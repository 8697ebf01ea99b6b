import NetlinkSocket

/// Failures of the sandbox layer. Each prints as one sentence with a fix where known.
public enum SandboxError: Error, CustomStringConvertible, Sendable {
    case invalidSandboxID(String)
    case alreadyAttached(String)
    case notAttached(String)
    case noEndpoints(namespace: String)
    case unsupportedEndpoint(name: String, reason: String)
    case modelNotApplicable(model: String, endpoint: String, reason: String)
    case stateDirectory(String, errno: Int32)
    case journalIO(String, String, errno: Int32)
    case journalCorrupted(String, String)
    case ownerAlive(sandbox: String, pid: Int32)
    case rolledBack(step: String, cause: Error, rollbackFailures: [String])
    case undoFailed(sandbox: String, failures: [String])
    case invalidArgument(String)
    /// Another sandbox's journal claims the endpoint.
    case endpointHeld(endpoint: String, sandbox: String, state: String)
    /// An undo found its object no longer what sandnet made, and did not touch it.
    case leftInPlace(object: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidSandboxID(id):
            return "sandbox id \"\(id)\" is not valid: use 1-128 letters, digits, '-', '_' or '.', not starting with '.'"
        case let .alreadyAttached(id): return "sandbox \(id) is already attached; detach it first (sandnet detach --sandbox \(id))"
        case let .notAttached(id): return "sandbox \(id) is not attached (no journal for it)"
        case let .noEndpoints(ns): return "\(ns) has no endpoint to attach (run sandnet scan --netns to see why)"
        case let .unsupportedEndpoint(n, r): return "endpoint \(n) cannot be attached: \(r)"
        case let .modelNotApplicable(m, e, r): return "model \(m) cannot be used for endpoint \(e): \(r)"
        case let .stateDirectory(d, e): return "cannot create state directory \(d): \(errnoText(e))"
        case let .journalIO(p, op, e): return "journal \(p): \(op) failed: \(errnoText(e))"
        case let .journalCorrupted(p, why):
            return "journal \(p) is corrupted (\(why)); nothing was changed. Fix: inspect the namespace, then remove the file"
        case let .ownerAlive(id, pid): return "sandbox \(id) is still owned by running process \(pid); stop it first"
        case let .rolledBack(step, cause, failures):
            var s = "attach failed at \"\(step)\": \(cause); every change made so far was undone"
            if !failures.isEmpty { s = "attach failed at \"\(step)\": \(cause); undoing it also failed: \(failures.joined(separator: "; ")). The journal was kept: run sandnet gc" }
            return s
        case let .undoFailed(id, failures):
            return "could not fully undo sandbox \(id): \(failures.joined(separator: "; ")); the journal was kept, retry with sandnet detach or gc"
        case let .invalidArgument(s): return s
        case let .endpointHeld(endpoint, sandbox, state):
            return "endpoint \(endpoint) is held by sandbox \(sandbox) (\(state)); nothing was changed. "
                + "Fix: detach that sandbox first (sandnet detach --sandbox \(sandbox))"
        case let .leftInPlace(object, reason): return "left \(object) in place: \(reason)"
        }
    }
}
