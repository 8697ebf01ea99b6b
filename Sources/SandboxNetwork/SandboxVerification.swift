import NetlinkSocket
import Rtnetlink
import TrafficControl

#if canImport(Glibc)
    import Glibc
#endif

/// Whether what a sandbox's journal says sandnet made is still in the kernel, found the way
/// an undo finds it (see `OwnedObjects`): links by ifindex, kind and link group; the ingress
/// qdisc by ifindex and handle; each redirect by ifindex, priority, handle and target.
/// Read-only: it changes nothing and takes no lock an attach or detach would wait for long.
public enum SandboxVerification {
    /// Every way the sandbox differs from its journal, one sentence each; empty when it is intact.
    /// Throws `notAttached` without a journal, and the journal's own read errors.
    public static func problems(sandbox: String, store: JournalStore = JournalStore()) throws -> [String] {
        try JournalStore.validate(sandbox: sandbox)
        guard let journal = try store.read(sandbox: sandbox) else { throw SandboxError.notAttached(sandbox) }
        guard journal.state == .attached else { return ["sandbox \(sandbox) is \(journal.state.rawValue), not attached"] }
        let rt: Rtnetlink
        switch try NamespaceCheck.open(journal) {
        case .same(let opened): rt = opened
        case .gone(let why), .replaced(let why): return ["the namespace of sandbox \(sandbox) is not there: \(why)"]
        }
        defer { rt.close() }
        var found: [String] = []
        // A NIC hot-unplugged since had its share undone on purpose: not a difference.
        for step in journal.attachStepsStillMade {
            do {
                if let problem = try check(step, group: journal.linkGroup, rt: rt) { found.append(problem) }
            } catch {
                found.append("cannot check \(step.summary): \(error)")
            }
        }
        return found
    }

    static func check(_ step: JournalStep, group: UInt32, rt: Rtnetlink) throws -> String? {
        switch step {
        case .createLink(let name, let kind, let ifindex):
            guard let link = try OwnedObjects.find(name, ifindex, rt) else { return "link \(name) is gone" }
            if link.name != name { return "link \(name) (ifindex \(link.index)) was renamed to \(link.name)" }
            if let kind, link.kind != kind { return "link \(name) is a \(link.kind ?? "link of no kind"), not the \(kind) sandnet made" }
            if link.group != group { return "link \(name) left sandnet's link group \(group) (it is in \(link.group ?? 0))" }
            if !link.isUp { return "link \(name) is down" }
        case .addIngressQdisc(let name, let ifindex, _):
            guard let link = try OwnedObjects.find(name, ifindex, rt) else { return "link \(name) (with sandnet's ingress qdisc) is gone" }
            let ingress = try rt.qdiscs(device: .index(link.index)).contains {
                $0.kind == "ingress" && $0.handle == .ingressQdisc && $0.parent == .ingressParent
            }
            if !ingress { return "link \(link.name) has no ingress qdisc (tc qdisc show dev \(link.name) ingress)" }
        case .addRedirect(let from, let to, let fromIndex, let toIndex, let priority, let handle):
            guard let fromIndex, let toIndex else { return nil }
            guard let link = try OwnedObjects.find(from, fromIndex, rt) else { return "link \(from) (the redirect's source) is gone" }
            let prio = priority ?? RedirectFilter.priority
            let filters: [Filter]
            do { filters = try rt.filters(device: .index(link.index), parent: .ingressQdisc) } catch let e as NetlinkError
                where e.errno == EINVAL || e.errno == ENOENT
            { return "link \(link.name) has no ingress qdisc for its redirect to \(to)" }
            let ours = filters.contains {
                $0.kind == "u32" && $0.priority == prio && !RedirectFilter.isStructural($0) && RedirectFilter.redirects($0, to: toIndex)
                    && (handle == nil || $0.handle == handle)
            }
            if !ours {
                return "the redirect \(from) -> \(to) is missing: no u32 filter at pref \(prio) on \(link.name) ingress "
                    + "redirects to ifindex \(toIndex) (tc filter show dev \(link.name) ingress)"
            }
        case .setMAC(let name, _, let replacement, let ifindex):
            guard let link = try OwnedObjects.find(name, ifindex, rt) else { return "endpoint \(name) is gone" }
            if link.address != replacement {
                return "endpoint \(link.name) has MAC \(link.address.map { "\($0)" } ?? "none"), not the \(replacement) sandnet set"
            }
        case .addRateQdisc(let name, let ifindex, let handle, _):
            guard let link = try OwnedObjects.find(name, ifindex, rt) else { return "link \(name) (with sandnet's rate limit) is gone" }
            let h = TcHandle(rawValue: handle)
            if !(try rt.qdiscs(device: .index(link.index)).contains { $0.isRoot && $0.handle == h && $0.kind == "htb" }) {
                return "link \(link.name) has no htb root qdisc \(h) for its rate limit (tc qdisc show dev \(link.name))"
            }
        case .addRateClass(let name, let ifindex, let classID, let rate, _):
            guard let link = try OwnedObjects.find(name, ifindex, rt) else { return "link \(name) (with sandnet's rate limit) is gone" }
            let id = TcHandle(rawValue: classID)
            guard let c = try rt.classes(device: .index(link.index)).first(where: { $0.classID == id }), let info = c.htb else {
                return "link \(link.name) has no htb class \(id) for its rate limit (tc class show dev \(link.name))"
            }
            if info.rateBytesPerSecond != rate / 8 {
                return "the htb class \(id) on \(link.name) shapes to \(TcRate.text(bitsPerSecond: info.rateBits)), "
                    + "not the \(TcRate.text(bitsPerSecond: rate)) sandnet set"
            }
        case .removeAddresses, .setTxQueueLength:
            return nil
        }
        return nil
    }
}
