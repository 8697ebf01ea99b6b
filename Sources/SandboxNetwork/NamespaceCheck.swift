import Foundation
import NetlinkSocket
import Rtnetlink

#if canImport(Glibc)
    import Glibc
#endif

/// What a journal's namespace path names now, decided before any undo touches a namespace.
///
/// The journal recorded the namespace by its canonical path, its nsfs (device, inode) and
/// its cookie (SO_NETNS_COOKIE). The path may be gone (the namespace was deleted, and its
/// links and qdiscs with it), or name another namespace: a new one bound to the same name,
/// possibly with the very inode number of the deleted one (the kernel reuses them). Only a
/// namespace with the recorded cookie is the sandbox's; the cookie is read from the
/// netlink socket the undo will use, so what is checked is what is talked to.
enum NamespaceCheck {
    enum Outcome {
        /// The sandbox's namespace, opened: undo through this handle (and close it).
        case same(Rtnetlink)
        /// Nothing to undo, and why (one sentence naming the path).
        case gone(String)
        case replaced(String)
    }

    static func open(_ journal: SandboxJournal, warnings: KernelWarningHandler? = nil) throws -> Outcome {
        let path = journal.namespacePath
        let ns = NetworkNamespace.path(path)
        let gone = "namespace \(path) is gone, and what the sandbox made in it went with it"
        let id: NamespaceIdentity
        do { id = try ns.identity() } catch let e as NetlinkError where e.isNoSuchFile { return .gone(gone) }
        guard journal.isNamespace(id) else {
            return .replaced(
                "\(path) now names another namespace (nsfs inode \(id.inode), the sandbox's was \(journal.namespaceInode)); the sandbox's namespace is gone"
            )
        }
        let rt: Rtnetlink
        do { rt = try Rtnetlink(namespace: ns, warnings: warnings) } catch let e as NetlinkError where e.isNoSuchFile { return .gone(gone) }
        guard let recorded = journal.namespaceCookie else { return .same(rt) } // (device, inode) is all there is
        let now: UInt64?
        do { now = try rt.handle.namespaceCookie() } catch {
            rt.close()
            throw error
        }
        guard now == recorded else {
            rt.close()
            return .replaced(
                "\(path) now names another namespace (cookie \(now.map(String.init) ?? "unknown"), the sandbox's was \(recorded)), "
                    + "one that got the deleted namespace's inode number \(id.inode); the sandbox's namespace is gone")
        }
        return .same(rt)
    }
}

extension NetlinkError {
    /// ENOENT/ENOTDIR from a system call: the file is not there.
    var isNoSuchFile: Bool {
        if case .system(_, _, let e) = self { return e == ENOENT || e == ENOTDIR }
        return false
    }
}
