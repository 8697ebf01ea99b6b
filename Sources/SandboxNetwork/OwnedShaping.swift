import NetlinkCodec
import NetlinkSocket
import Rtnetlink
import TrafficControl

#if canImport(Glibc)
    import Glibc
#endif

/// The undo checks for a rate limit's htb qdisc and class: each is found by its link's
/// ifindex and the handle sandnet chose, and deleted only while it is what sandnet made.
extension OwnedObjects {
    /// The htb class holding a cap: deleted while it is htb with the rate sandnet gave it.
    static func deleteRateClass(
        link name: String, ifindex: Int32?, classID: UInt32, rate: UInt64, added: Bool?, rollback: Bool, rt: Rtnetlink
    ) throws -> UndoOutcome {
        if rollback && added != true { return .nothingToUndo("its add failed, so a class there is not sandnet's") }
        guard let link = try find(name, ifindex, rt) else { return .nothingToUndo("the link is gone") }
        let id = TcHandle(rawValue: classID)
        guard let c = try rt.classes(device: .index(link.index)).first(where: { $0.classID == id }) else {
            return .nothingToUndo("the link has no class \(id)")
        }
        let object = "class \(id) dev \(link.name) (ifindex \(link.index))"
        guard c.kind == "htb", let info = c.htb else {
            throw SandboxError.leftInPlace(object: object, reason: "it is a \(c.kind) class, not the htb class sandnet made")
        }
        // The kernel keeps bytes per second: compare in those.
        guard info.rateBytesPerSecond == rate / 8 else {
            throw SandboxError.leftInPlace(
                object: object,
                reason:
                    "its rate is \(TcRate.text(bitsPerSecond: info.rateBits)), not the \(TcRate.text(bitsPerSecond: rate)) sandnet set, "
                    + "so another tool changed it; delete it by hand if it should go (tc class del dev \(link.name) classid \(id))")
        }
        try rt.classDelete(device: .index(link.index), classID: id)
        return .done
    }

    /// The root htb qdisc of a rate limit: deleted while its add was confirmed, it is htb at
    /// sandnet's handle, and it holds no class or filter sandnet did not make (its own class
    /// is undone first). Deleting it gives the link back the kernel's default qdisc.
    static func deleteRateQdisc(
        link name: String, ifindex: Int32?, handle: UInt32, added: Bool?, rollback: Bool, rt: Rtnetlink
    ) throws -> UndoOutcome {
        if rollback && added != true { return .nothingToUndo("its add failed, so the qdisc there is not sandnet's") }
        guard let link = try find(name, ifindex, rt) else { return .nothingToUndo("the link is gone") }
        let h = TcHandle(rawValue: handle)
        guard let q = try rt.qdiscs(device: .index(link.index)).first(where: { $0.isRoot && $0.handle == h }) else {
            return .nothingToUndo("the link has no root qdisc \(h)")
        }
        let object = "qdisc \(q.kind) \(h) root dev \(link.name) (ifindex \(link.index))"
        guard q.kind == "htb" else { throw SandboxError.leftInPlace(object: object, reason: "it is \(q.kind), not the htb sandnet added") }
        guard added == true else {
            throw SandboxError.leftInPlace(
                object: object,
                reason: "sandnet was stopped between adding it and recording that the add succeeded, so it may be another tool's; "
                    + "if it is not, delete it (tc qdisc del dev \(link.name) root)")
        }
        let classes = try rt.classes(device: .index(link.index)).filter { $0.classID.major == h.major }
        let filters = try rt.filters(device: .index(link.index), parent: h)
        if !classes.isEmpty || !filters.isEmpty {
            let what = classes.map { "class \($0.classID)" } + filters.map { "\($0.kind) filter pref \($0.priority)" }
            throw SandboxError.leftInPlace(
                object: object,
                reason: "it holds \(what.joined(separator: ", ")) that sandnet did not add, which deleting it would take along")
        }
        try rt.qdiscDelete(q)
        return .done
    }
}
