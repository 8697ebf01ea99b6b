import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import SandnetCore
import TrafficControl

#if canImport(Glibc)
    import Glibc
#endif

/// The checks an undo makes before it deletes or resets anything. Each object is found by
/// what its journal step recorded when sandnet made it (ifindex and kind for links; ifindex,
/// handle ffff: and parent for the ingress qdisc; ifindex, priority, handle and redirect
/// target for filters), never by a name alone, so a renamed endpoint is still undone. An
/// object that is no longer what sandnet made is left in place and reported, never deleted.
enum OwnedObjects {
    /// A tap or macvtap the group delete did not take (killed before it joined the group):
    /// deleted only while it is of the kind sandnet made and in no other link group.
    static func deleteLink(
        name: String, kind: String?, ifindex: Int32?, group: UInt32, rollback: Bool,
        rt: Rtnetlink
    ) throws -> UndoOutcome {
        // A rollback's journal is the one in memory, amended right after each create:
        // no ifindex there means the create failed (a clash with someone else's link).
        if rollback, kind != nil, ifindex == nil { return .nothingToUndo("its create failed, so a link of that name is not sandnet's") }
        guard let link = try find(name, ifindex, rt) else { return .nothingToUndo("the link is gone") }
        let object = "link \(link.name) (ifindex \(link.index))"
        if let kind, link.kind != kind {
            throw SandboxError.leftInPlace(
                object: object, reason: "it is a \(link.kind ?? "link of no kind"), not the \(kind) sandnet made")
        }
        if let g = link.group, g != 0, g != group {
            throw SandboxError.leftInPlace(object: object, reason: "it is in link group \(g), not in sandnet's \(group)")
        }
        try rt.linkDelete(.index(link.index))
        return .done
    }

    /// The ingress qdisc sandnet added, deleted only when it carries no filter but sandnet's
    /// redirects (deleting it takes every filter on it along) and it is provably sandnet's:
    /// its add was confirmed in the journal (old journals, which confirm nothing, count as
    /// confirmed), or `proven` (the kernel showed it before the undo began; see
    /// `ingressEvidence`).
    static func deleteIngress(
        link name: String, ifindex: Int32?, added: Bool?, rollback: Bool, proven: Bool = false, rt: Rtnetlink
    ) throws -> UndoOutcome {
        let confirmed = added == true || ifindex == nil
        // In a rollback an unconfirmed add is one that failed (EEXIST: another tool's qdisc is there).
        if rollback && !confirmed { return .nothingToUndo("its add failed, so the qdisc there is not sandnet's") }
        guard let link = try find(name, ifindex, rt) else { return .nothingToUndo("the link is gone") }
        guard
            let q = try rt.qdiscs(device: .index(link.index)).first(where: {
                $0.kind == "ingress" && $0.handle == .ingressQdisc && $0.parent == .ingressParent
            })
        else { return .nothingToUndo("the link has no ingress qdisc") }
        let object = "qdisc ingress dev \(link.name) (ifindex \(link.index))"
        guard confirmed || proven else {
            throw SandboxError.leftInPlace(
                object: object,
                reason: "sandnet was stopped between adding it and recording that the add succeeded, "
                    + "and no redirect of sandnet's into its own links hung on it, so it may be another tool's; "
                    + "if it is not, delete it (tc qdisc del dev \(link.name) ingress)")
        }
        let filters = try rt.filters(device: .index(link.index), parent: .ingressQdisc)
        let foreign = filters.filter { !isSandnetShaped($0) }
        guard foreign.isEmpty else {
            let list = foreign.map { "\($0.kind) pref \($0.priority) handle \(U32Info.handleText($0.handle))" }.joined(separator: ", ")
            throw SandboxError.leftInPlace(
                object: object, reason: "it carries filters sandnet did not add (\(list)), which deleting it would take along")
        }
        try rt.qdiscDelete(q)
        return .done
    }

    /// Whether the kernel shows that the ingress qdisc on `name` is sandnet's although its
    /// add was never confirmed in the journal. An attach journals the intent for a whole
    /// endpoint up front and confirms the adds with its next write, so a kill in between
    /// leaves `added` unset. Read before anything is undone (the undo of the redirects
    /// takes the evidence away). The qdisc is sandnet's when
    /// - it is on a link in sandnet's link group (a tap sandnet made; it goes with it), or
    /// - a filter on it is a redirect at sandnet's priority whose mirred target is a link
    ///   in sandnet's group. The attach sent the qdisc add and that filter add in one
    ///   datagram, which a kill cannot split, and refused the endpoint if it had any
    ///   ingress qdisc when the attach began; another tool's qdisc carries a redirect into
    ///   sandnet's own tap only if someone aimed it there.
    /// Anything else (no qdisc, an empty one another tool may have added since, other
    /// filters only) is no proof: the undo leaves such a qdisc in place and reports it.
    static func ingressEvidence(link name: String, ifindex: Int32?, group: UInt32, groupLinks: inout Set<Int32>?, rt: Rtnetlink) -> Bool {
        guard SandboxLinkGroup.isSandnet(group), let link = try? find(name, ifindex, rt) else { return false }
        if link.group == group { return true }
        guard let filters = try? rt.filters(device: .index(link.index), parent: .ingressQdisc) else { return false }
        let redirects = filters.filter { isSandnetShaped($0) && !RedirectFilter.isStructural($0) }
        if redirects.isEmpty { return false }
        if groupLinks == nil { groupLinks = Set(((try? rt.links()) ?? []).filter { $0.group == group }.map(\.index)) }
        return redirects.contains { f in groupLinks!.contains { RedirectFilter.redirects(f, to: $0) } }
    }

    /// A redirect filter, found by its link's ifindex, priority and redirect target (and
    /// handle once recorded). Its priority goes whole when it holds nothing else, so no
    /// empty u32 hash table is left behind; otherwise only its own handle goes.
    static func deleteRedirect(
        from name: String, to target: String, fromIndex: Int32?, toIndex: Int32?, priority: UInt16?,
        handle: UInt32?, rt: Rtnetlink
    ) throws -> UndoOutcome {
        // Journals written before the ifindexes were recorded: it goes with its qdisc.
        guard let fromIndex, let toIndex else { return .nothingToUndo("it goes with the ingress qdisc it hangs off") }
        guard let link = try find(name, fromIndex, rt) else { return .nothingToUndo("the link is gone") }
        let prio = priority ?? RedirectFilter.priority
        let filters: [Filter]
        do { filters = try rt.filters(device: .index(link.index), parent: .ingressQdisc) } catch let e as NetlinkError
            where e.errno == EINVAL || e.errno == ENOENT
        { return .nothingToUndo("the link has no ingress qdisc") }
        let atPriority = filters.filter { $0.priority == prio && $0.kind == "u32" }
        guard let ours = atPriority.first(where: { RedirectFilter.redirects($0, to: toIndex) && (handle == nil || $0.handle == handle) })
        else {
            return .nothingToUndo("no u32 filter at pref \(prio) redirects to \(target) (ifindex \(toIndex))")
        }
        let others = atPriority.filter { $0.handle != ours.handle && !RedirectFilter.isStructural($0) }
        try rt.filterDelete(
            device: .index(link.index), parent: .ingressQdisc, priority: prio,
            handle: others.isEmpty ? 0 : ours.handle, kind: "u32")
        return .done
    }

    /// The endpoint's own MAC back, only while it still has the one sandnet set.
    static func restoreMAC(
        link name: String, original: MACAddress, replacement: MACAddress, ifindex: Int32?,
        rt: Rtnetlink
    ) throws -> UndoOutcome {
        guard let link = try find(name, ifindex, rt) else { return .nothingToUndo("the link is gone") }
        if link.address == original { return .nothingToUndo("it has its own MAC") }
        guard link.address == replacement else {
            throw SandboxError.leftInPlace(
                object: "the MAC of link \(link.name) (ifindex \(link.index))",
                reason: "it is now \(link.address.map { "\($0)" } ?? "none"), not the \(replacement) sandnet set; "
                    + "set it back to \(original) by hand if it should be (ip link set dev \(link.name) address \(original))")
        }
        try rt.linkSet(.index(link.index), LinkChange(address: original))
        return .done
    }

    /// The endpoint's txqueuelen back, only while it is still the one the qdisc add gave it.
    static func restoreTxQueueLength(link name: String, ifindex: Int32, original: UInt32, replacement: UInt32, rt: Rtnetlink) throws
        -> UndoOutcome
    {
        guard let link = try find(name, ifindex, rt) else { return .nothingToUndo("the link is gone") }
        if link.txQueueLength == original { return .nothingToUndo("it has its own txqueuelen") }
        guard link.txQueueLength == replacement else {
            throw SandboxError.leftInPlace(
                object: "the txqueuelen of link \(link.name) (ifindex \(link.index))",
                reason: "it is now \(link.txQueueLength.map { "\($0)" } ?? "unknown"), not the \(replacement) the qdisc add set")
        }
        try rt.linkSet(.index(link.index), LinkChange(txQueueLength: original))
        return .done
    }

    /// The link's name now: it may have been renamed since the step recorded its ifindex.
    static func currentName(_ name: String, ifindex: Int32?, rt: Rtnetlink) throws -> String {
        try find(name, ifindex, rt)?.name ?? name
    }

    /// The link by ifindex when recorded, else by name; nil when it is gone.
    static func find(_ name: String, _ ifindex: Int32?, _ rt: Rtnetlink) throws -> Link? {
        do { return try rt.link(ifindex.map(LinkReference.index) ?? .name(name)) } catch let e as NetlinkError where e.errno == ENODEV {
            return nil
        }
    }

    /// What sandnet's own redirects look like on a qdisc it made: u32 at its priority,
    /// the entries the kernel makes for it, and nodes whose only actions are redirects.
    static func isSandnetShaped(_ f: Filter) -> Bool {
        guard f.kind == "u32", f.priority == RedirectFilter.priority else { return false }
        if RedirectFilter.isStructural(f) { return true }
        return !f.actions.isEmpty
            && f.actions.allSatisfy {
                if case .mirred(let m) = $0.action { return m.mode == .redirect } else { return false }
            }
    }
}

/// What a checked undo found.
enum UndoOutcome {
    case done
    case nothingToUndo(String)
}
