/// Why a plug or unplug over QMP did not complete, and what state it left: one sentence.
public enum HotplugFailure: Error, CustomStringConvertible, Sendable {
    /// QEMU refused or did not answer a step of the plug; everything was rolled back.
    case plugRolledBack(endpoint: String, step: String, cause: String, cleanup: [String])
    /// A signal (SIGTERM, SIGINT) came before device_add: everything was rolled back.
    case plugStopped(endpoint: String, before: String, cleanup: [String])
    /// The guest did not release the NIC within the limit: nothing past `device_del` was done.
    case unplugTimedOut(endpoint: String, device: String, seconds: Int)
    /// A step of the unplug failed; the journal keeps the endpoint so a retry can finish it.
    case unplugFailed(endpoint: String, step: String, cause: String)

    public var description: String {
        switch self {
        case .plugRolledBack(let e, let step, let cause, let cleanup):
            let tail =
                cleanup.isEmpty
                ? "the netdev, QEMU's descriptors and the host side were undone"
                : "rolling back also failed: \(cleanup.joined(separator: "; ")); the journal keeps it for sandnet unplug or detach"
            return "plugging \(e) failed at \(step): \(cause); \(tail)"
        case .plugStopped(let e, let before, let cleanup):
            return cleanup.isEmpty
                ? "plugging \(e) was stopped by a signal before \(before); the netdev, QEMU's descriptors and the host side were undone"
                : "plugging \(e) was stopped by a signal before \(before); rolling back failed: \(cleanup.joined(separator: "; ")); "
                    + "the journal keeps it for sandnet unplug or detach"
        case .unplugTimedOut(let e, let d, let s):
            return "the guest did not release \(d) (endpoint \(e)) within \(s) s, so it is still plugged and nothing else was undone. "
                + "Fix: retry sandnet unplug once the guest runs (a paused or unbooted guest never acknowledges PCIe hot-unplug)"
        case .unplugFailed(let e, let step, let cause):
            return "unplugging \(e) failed at \(step): \(cause); the journal keeps it, so running sandnet unplug again finishes it"
        }
    }
}
