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
    /// The path where a journal should be is something else.
    case journalNotAFile(String, kind: String)
    /// The operation needs CAP_NET_ADMIN, which this process lacks.
    case needsNetAdmin(operation: String, uid: UInt32)
    /// `--endpoint-model NAME=MODEL` names no endpoint of the namespace.
    case overrideForNoEndpoint(override: String, why: String)
    /// More endpoints need a NIC than a VM has PCIe root ports.
    case tooManyNICs(namespace: String, nics: Int, limit: Int)

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
        case let .journalNotAFile(p, kind):
            return "\(p) is \(kind), not a journal file; nothing was changed. Fix: find out what made it and remove it (sandnet writes journals as regular files)"
        case let .needsNetAdmin(op, uid):
            return "\(op) needs CAP_NET_ADMIN, which this process (uid \(uid)) does not have; nothing was changed. Fix: run it as root"
        case let .overrideForNoEndpoint(o, why):
            return "--endpoint-model \(o): \(why); nothing was changed. Fix: use an endpoint name that `sandnet scan --netns` lists"
        case let .tooManyNICs(ns, n, limit):
            return "\(ns) has \(n) endpoints that each need a NIC, but a sandbox VM has at most \(limit) (one PCIe root port each); "
                + "nothing was changed. Fix: give the pod at most \(limit) endpoints, or leave some out with --endpoint-model NAME=none"
        }
    }
}
