/// Why a guest run failed. Each prints as one sentence naming what went wrong.
public enum GuestLabError: Error, CustomStringConvertible, Sendable, Equatable {
    /// No guest image, and it could not be built.
    case imageUnavailable(architecture: String, reason: String)
    /// QEMU could not be started, or exited before the guest said anything.
    case qemuFailedToStart(binary: String, status: Int32?, stderr: String)
    /// QEMU exited before the guest finished.
    case qemuExited(status: Int32, stderr: String, lastConsoleLine: String?)
    /// The guest reported that a kernel module it needs is not loaded.
    case guestModuleMissing(module: String, detail: String)
    /// The guest reported another failure (`SANDNET-ERROR kind=…`).
    case guestFailed(kind: String, detail: String)
    /// The guest kernel panicked.
    case guestPanicked(line: String)
    /// Nothing finished in time; QEMU was killed.
    case timedOut(seconds: Double, stage: String, lastConsoleLine: String?)
    /// The guest fetched a token that is not this run's.
    case tokenMismatch(target: String, expected: String, got: String)
    /// The guest did not report a result for every target.
    case missingResult(target: String)

    public var description: String {
        switch self {
        case .imageUnavailable(let arch, let reason):
            return "no \(arch) guest image: \(reason). Fix: run scripts/setup.sh"
        case .qemuFailedToStart(let binary, let status, let stderr):
            let why = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            return "QEMU (\(binary)) failed to start\(status.map { " (exit status \($0))" } ?? ""): \(why.isEmpty ? "no message" : why)"
        case .qemuExited(let status, let stderr, let last):
            let why = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            return
                "QEMU exited with status \(status) before the guest finished\(why.isEmpty ? "" : ": \(why)")\(last.map { "; last console line: \($0)" } ?? "")"
        case .guestModuleMissing(let module, let detail):
            return
                "the guest kernel has no \(module) module loaded, so its NIC never appeared (\(detail)). Fix: include \(module) in the guest image (scripts/guest/build-image.sh)"
        case .guestFailed(let kind, let detail):
            return "the guest failed (\(kind)): \(detail)"
        case .guestPanicked(let line):
            return "the guest kernel panicked: \(line)"
        case .timedOut(let seconds, let stage, let last):
            return
                "the guest did not finish within \(Int(seconds)) s (last stage: \(stage)); QEMU was killed\(last.map { ". Last console line: \($0)" } ?? "")"
        case .tokenMismatch(let target, let expected, let got):
            return "the guest fetched token \"\(got)\" from \(target), but this run's token is \"\(expected)\""
        case .missingResult(let target):
            return "the guest reported no result for \(target)"
        }
    }
}
