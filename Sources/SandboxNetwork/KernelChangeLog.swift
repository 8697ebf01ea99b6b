import Logging
import NetlinkSocket

/// A kernel object that an attach, detach or gc changes, named the way `ip` and `tc` name
/// it, so a log record says exactly what was touched.
struct KernelObject: CustomStringConvertible {
    enum Kind: String {
        case link
        case linkGroup = "link group"
        case qdisc, filter, address, route, neighbour
    }
    var kind: Kind
    /// The link it is on (the link itself for kind link; nil for a link group).
    var device: String?
    /// What tells it apart on that link: `ingress`, `u32 pref 1`, a prefix, a destination.
    var detail: String?
    var ifindex: Int32?

    static func link(_ name: String, ifindex: Int32? = nil) -> KernelObject { KernelObject(kind: .link, device: name, ifindex: ifindex) }
    static func linkGroup(_ group: UInt32) -> KernelObject { KernelObject(kind: .linkGroup, detail: "\(group)") }
    static func qdisc(_ kind: String, on device: String, ifindex: Int32? = nil) -> KernelObject {
        KernelObject(kind: .qdisc, device: device, detail: kind, ifindex: ifindex)
    }
    static func filter(_ what: String, on device: String, ifindex: Int32? = nil) -> KernelObject {
        KernelObject(kind: .filter, device: device, detail: what, ifindex: ifindex)
    }
    static func address(_ prefix: String, on device: String) -> KernelObject {
        KernelObject(kind: .address, device: device, detail: prefix)
    }
    static func route(_ destination: String, on device: String) -> KernelObject {
        KernelObject(kind: .route, device: device, detail: destination)
    }
    static func neighbour(_ address: String, on device: String) -> KernelObject {
        KernelObject(kind: .neighbour, device: device, detail: address)
    }

    /// `link sn1t0`, `qdisc ingress dev eth0`, `address 198.51.100.10/27 dev eth0`, `link group 1397620737`.
    var description: String {
        switch (detail, device) {
        case (let d?, let dev?): return "\(kind.rawValue) \(d) dev \(dev)"
        case (let d?, nil): return "\(kind.rawValue) \(d)"
        case (nil, let dev): return "\(kind.rawValue) \(dev ?? "?")"
        }
    }

    var metadata: Logger.Metadata {
        var m: Logger.Metadata = ["object": "\(description)", "objectKind": "\(kind.rawValue)"]
        if let device { m["device"] = "\(device)" }
        if let ifindex { m["ifindex"] = "\(ifindex)" }
        return m
    }
}

extension Logger {
    /// The one `.debug` record of one kernel change (made, or undone) for journal step
    /// `number` (counted from 1). The logger carries the sandbox, namespace and phase.
    func kernelChange(_ operation: String, _ object: KernelObject, step: JournalStep, number: Int, _ extra: Logger.Metadata = [:]) {
        debug(
            "kernel change",
            metadata: object.metadata.merging(extra) { $1 }.merging([
                "operation": "\(operation)", "step": "\(step.kind)", "stepNumber": "\(number)"
            ]) { $1 })
    }
}

/// Loggers for library callers that pass none: records are dropped, nobody is made to log.
public enum SandboxLogging {
    public static let label = "sandnet.sandbox"
    public static var silent: Logger { Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() }) }

    /// Logs the kernel's extended-ACK text on requests it carried out, at warning.
    static func kernelWarnings(_ logger: Logger) -> KernelWarningHandler {
        { w in
            logger.warning(
                "kernel warning",
                metadata: [
                    "operation": "\(w.operation)", "object": "\(w.object ?? "")", "kernelMessage": "\(w.message)"
                ])
        }
    }

    /// `logger` with what every record of one sandbox's attach, detach or gc carries.
    static func forSandbox(_ logger: Logger, sandbox: String, namespace: String, phase: String) -> Logger {
        var l = logger
        l[metadataKey: "sandbox"] = "\(sandbox)"
        l[metadataKey: "namespace"] = "\(namespace)"
        l[metadataKey: "phase"] = "\(phase)"
        return l
    }
}
