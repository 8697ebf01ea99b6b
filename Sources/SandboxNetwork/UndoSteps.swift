import Foundation
import Logging
import NetlinkCodec
import NetlinkSocket
import Rtnetlink

#if canImport(Glibc)
import Glibc
#endif

extension SandboxDetach {
    /// Undoes `steps` newest first. Each undo accepts that its change may never have been
    /// made. Returns what could not be undone. `afterKernelChange`: fault injection only.
    static func undoSteps(_ steps: [JournalStep], group: UInt32, rt: Rtnetlink, logger: Logger, undone: inout [String],
                          afterKernelChange: KernelChangeHook? = nil) -> [String] {
        var undo = UndoAttempts(logger: logger, afterKernelChange: afterKernelChange)
        var linksDeleted = false
        for (i, step) in steps.enumerated().reversed() {
            let number = i + 1
            switch step {
            case let .createLink(name):
                if !linksDeleted {
                    // One request removes every link of the sandbox.
                    undo.attempt("delete", .linkGroup(group), step: step, number: number, ignoring: [ENODEV, ENOENT]) {
                        try rt.linkDeleteGroup(group)
                    }
                    linksDeleted = true
                }
                // A link made but killed before it joined the group goes by name.
                undo.attempt("delete", .link(name), step: step, number: number, ignoring: [ENODEV, ENOENT]) {
                    try rt.linkDelete(.name(name))
                }
            case let .addIngressQdisc(link):
                undo.attempt("delete", .qdisc("ingress", on: link), step: step, number: number, ignoring: [ENODEV, ENOENT, EINVAL]) {
                    try TcFilterModel.removeIngress(link, rt: rt)
                }
            case .addRedirect:
                break   // removed with the ingress qdisc it hangs off
            case let .setMAC(link, original, _):
                undo.attempt("set MAC \(original)", .link(link), step: step, number: number, ignoring: [ENODEV]) {
                    try rt.linkSet(.name(link), LinkChange(address: original))
                }
            case .removeAddresses:
                continue   // given back last, below
            }
            undone.append(step.summary)
        }
        // Addresses come back once every device is gone and every MAC is back, in the
        // endpoints' own order: routes sharing a prefix (fe80::/64) list in insertion order.
        for (i, step) in steps.enumerated() {
            guard case let .removeAddresses(link, saved) = step else { continue }
            EndpointState.restore(saved, on: link, rt: rt, step: step, number: i + 1, &undo)
            undone.append(step.summary)
        }
        return undo.failures
    }
}
