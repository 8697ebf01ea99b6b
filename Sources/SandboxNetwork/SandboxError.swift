import NetlinkSocket

#if canImport(Glibc)
    import Glibc
#endif

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
    /// The owner is gone but another process holds the sandbox's queues (`SandboxLiveness`).
    case queuesHeld(sandbox: String, pid: Int32, reason: String)
    case rolledBack(step: String, cause: Error, rollbackFailures: [String])
    case undoFailed(sandbox: String, failures: [String])
    case invalidArgument(String)
    /// The state directory (or one of its ancestors) could be changed by someone else.
    case untrustedState(String, String, fix: String)
    /// A journal that is not the caller's regular 0600 file.
    case untrustedJournal(String, String)
    /// A lock file that is a symlink or not the caller's regular 0600 file.
    case untrustedLock(String, String)
    /// The state directory exists but cannot be listed.
    case stateUnreadable(String, errno: Int32)
    /// Another process held the sandbox's lock for longer than the caller would wait.
    case busy(sandbox: String, lock: String, holder: Int32?, waited: Duration)
    /// Another sandbox's journal claims the endpoint.
    case endpointHeld(endpoint: String, sandbox: String, state: String)
    /// An undo found its object no longer what sandnet made, and did not touch it.
    case leftInPlace(object: String, reason: String)
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
        case .invalidSandboxID(let id):
            return "sandbox id \"\(id)\" is not valid: use 1-128 letters, digits, '-', '_' or '.', not starting with '.'"
        case .alreadyAttached(let id): return "sandbox \(id) is already attached; detach it first (sandnet detach --sandbox \(id))"
        case .notAttached(let id): return "sandbox \(id) is not attached (no journal for it)"
        case .noEndpoints(let ns): return "\(ns) has no endpoint to attach (run sandnet scan --netns to see why)"
        case .unsupportedEndpoint(let n, let r): return "endpoint \(n) cannot be attached: \(r)"
        case .modelNotApplicable(let m, let e, let r): return "model \(m) cannot be used for endpoint \(e): \(r)"
        case .stateDirectory(let d, let e): return "cannot create state directory \(d): \(errnoText(e))"
        case .journalIO(let p, let op, let e): return "journal \(p): \(op) failed: \(errnoText(e))"
        case .journalCorrupted(let p, let why):
            return "journal \(p) is corrupted (\(why)); nothing was changed. Fix: inspect the namespace, then remove the file"
        case .ownerAlive(let id, let pid): return "sandbox \(id) is still owned by running process \(pid); stop it first"
        case .queuesHeld(let id, let pid, let reason):
            return "sandbox \(id) is still in use: \(reason); stop process \(pid) first, or detach with --force"
        case .rolledBack(let step, let cause, let failures):
            var s = "attach failed at \"\(step)\": \(cause); every change made so far was undone"
            if !failures.isEmpty {
                s =
                    "attach failed at \"\(step)\": \(cause); undoing it also failed: \(failures.joined(separator: "; ")). The journal was kept: run sandnet gc"
            }
            return s
        case .undoFailed(let id, let failures):
            return
                "could not fully undo sandbox \(id): \(failures.joined(separator: "; ")); the journal was kept, retry with sandnet detach or gc"
        case .invalidArgument(let s): return s
        case .untrustedState(let p, let why, let fix):
            return
                "state directory \(p) \(why), so another user could plant or redirect journals in it; nothing was read or changed. Fix: \(fix)"
        case .untrustedJournal(let p, let why):
            return
                "journal \(p) \(why): sandnet only trusts a regular file owned by uid \(geteuid()) with mode 0600, so it was neither read nor undone. "
                + "Fix: inspect it; if it is sandnet's, chown \(geteuid()) and chmod 0600 it, else remove it"
        case .untrustedLock(let p, let why):
            return
                "lock file \(p) \(why): sandnet only uses a regular file owned by uid \(geteuid()) with mode 0600 and never follows a symlink; nothing was done. Fix: remove it"
        case .stateUnreadable(let p, let e):
            return "cannot list state directory \(p): \(errnoText(e)); nothing was done. Fix: make \(p) a directory only root can write"
        case .busy(let id, let lock, let holder, let waited):
            let who = holder.map { "process \($0)" } ?? "another process"
            return
                "sandbox \(id) is busy: \(who) holds its lock \(lock) and did not let go within \(waited.components.seconds) s; nothing was done for it. "
                + "Fix: wait for \(who) to finish, or if it is stuck, kill it and run sandnet gc"
        case .endpointHeld(let endpoint, let sandbox, let state):
            return "endpoint \(endpoint) is held by sandbox \(sandbox) (\(state)); nothing was changed. "
                + "Fix: detach that sandbox first (sandnet detach --sandbox \(sandbox))"
        case .leftInPlace(let object, let reason): return "left \(object) in place: \(reason)"
        case .journalNotAFile(let p, let kind):
            return
                "\(p) is \(kind), not a journal file; nothing was changed. Fix: find out what made it and remove it (sandnet writes journals as regular files)"
        case .needsNetAdmin(let op, let uid):
            return "\(op) needs CAP_NET_ADMIN, which this process (uid \(uid)) does not have; nothing was changed. Fix: run it as root"
        case .overrideForNoEndpoint(let o, let why):
            return "--endpoint-model \(o): \(why); nothing was changed. Fix: use an endpoint name that `sandnet scan --netns` lists"
        case .tooManyNICs(let ns, let n, let limit):
            return "\(ns) has \(n) endpoints that each need a NIC, but a sandbox VM has at most \(limit) (one PCIe root port each); "
                + "nothing was changed. Fix: give the pod at most \(limit) endpoints, or leave some out with --endpoint-model NAME=none"
        }
    }
}
