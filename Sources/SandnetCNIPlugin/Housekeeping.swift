import Foundation
import SandboxNetwork

#if canImport(Glibc)
    import Glibc
#endif

/// The specification 1.1 commands that are about the plugin, not one attachment.
enum Housekeeping {
    /// STATUS: ready when taps can be made (/dev/net/tun opens) and the state directory is usable.
    static func status(_ request: CNIRequest) throws -> Data? {
        try require11(request, "STATUS")
        let fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            throw CNIFailure(
                code: 50, "sandnet-cni cannot make taps: open /dev/net/tun failed: \(String(cString: strerror(e)))",
                details: "load the tun module (modprobe tun) or build the kernel with CONFIG_TUN")
        }
        close(fd)
        do { _ = try JournalStore(directory: request.configuration.stateDirectory).listSandboxes() } catch {
            throw CNIFailure(code: 50, "sandnet-cni cannot use its state directory: \(error)")
        }
        return nil
    }

    /// GC: undoes every attachment of this network the runtime no longer lists as valid.
    static func gc(_ request: CNIRequest) throws -> Data? {
        try require11(request, "GC")
        let c = request.configuration
        let store = JournalStore(directory: c.stateDirectory)
        let valid = Set(
            (c.validAttachments ?? []).map {
                AttachmentKey(network: c.name, containerID: $0.containerID, interfaceName: $0.interfaceName).sandbox
            })
        let prefix = AttachmentKey.sandboxPrefix(network: c.name)
        var failures: [String] = []
        for sandbox in store.sandboxes().sorted() where sandbox.hasPrefix(prefix) && !valid.contains(sandbox) {
            do { try ChainedDelete.detach(sandbox, store: store) } catch { failures.append("\(sandbox): \(error)") }
        }
        _ = store.sweepStaleFiles()
        guard failures.isEmpty else { throw CNIFailure(.tryAgainLater, "GC could not undo \(failures.joined(separator: "; "))") }
        return nil
    }

    static func require11(_ request: CNIRequest, _ command: String) throws {
        guard CNIVersions.atLeast(request.configuration.cniVersion, "1.1.0") else {
            throw CNIFailure(
                .incompatibleVersion, "\(command) needs cniVersion 1.1.0; the configuration says \(request.configuration.cniVersion)")
        }
    }
}
