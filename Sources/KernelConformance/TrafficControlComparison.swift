import Rtnetlink
import TrafficControl

/// sandnet's view of qdiscs and filters against `tc -j -d ... show`, field by field: the
/// differences, each naming the object and field. Empty when they agree.
public enum TrafficControlComparison {
    /// The filters under `parent` of `dev` (`tcParent` is the same parent as tc spells it).
    public static func filterDifferences(_ ns: LabNamespace, _ rt: Rtnetlink, dev: String, parent: TcHandle, tcParent: String) throws
        -> [String]
    {
        let ours = try rt.filters(device: .name(dev), parent: parent)
        let theirs = try ns.tcJSON("-d", "filter", "show", "dev", dev, "parent", tcParent)
        return filterDifferences(ours, theirs, names: LinkComparison.names(try rt.links()), where: "\(dev) parent \(tcParent)")
    }

    public static func filterDifferences(_ ours: [Filter], _ theirs: [[String: Any]], names: [Int32: String], where place: String)
        -> [String]
    {
        var out: [String] = []
        func check(_ ok: Bool, _ what: @autoclosure () -> String) { if !ok { out.append("\(place): \(what())") } }
        check(ours.count == theirs.count, "sandnet decoded \(ours.count) filter entries, tc shows \(theirs.count)")
        for (o, t) in zip(ours, theirs) {
            let f = "filter \(o.kind) pref \(o.priority)"
            check(o.kind == t["kind"] as? String, "\(f): tc says kind \(String(describing: t["kind"]))")
            check(Int(o.priority) == t["pref"] as? Int, "\(f): tc says pref \(String(describing: t["pref"]))")
            check(o.protocolName == t["protocol"] as? String, "\(f): protocol \(o.protocolName) vs \(String(describing: t["protocol"]))")
            check(o.chain.map(Int.init) == t["chain"] as? Int, "\(f): chain")
            guard let opt = t["options"] as? [String: Any] else {
                check(!o.hasOptions, "\(f): tc shows no options, sandnet decoded some")
                continue
            }
            if o.kind == "u32", let u = o.u32 {
                check(U32Info.handleText(o.handle) == opt["fh"] as? String, "\(f): fh \(String(describing: opt["fh"]))")
                check(u.divisor.map(Int.init) == opt["ht_divisor"] as? Int, "\(f): ht_divisor")
                check(u.keyHashTable.map { String($0, radix: 16) } == opt["key_ht"] as? String, "\(f): key_ht")
                check(u.bucket.map { String($0, radix: 16) } == opt["bkt"] as? String, "\(f): bkt")
                let node = o.handle & 0xfff
                if node != 0 { check(Int(node) == opt["order"] as? Int, "\(f): order") }
                // tc repeats the "match" key once per u32 key; a JSON parser keeps the last one.
                if let key = u.selector?.keys.last, let m = opt["match"] as? [String: Any] {
                    check(String(key.value, radix: 16) == m["value"] as? String, "\(f): match value")
                    check(String(key.mask, radix: 16) == m["mask"] as? String, "\(f): match mask")
                    check(Int(key.offset) == m["off"] as? Int, "\(f): match offset")
                }
            }
            check(o.notInHardware == (opt["not_in_hw"] as? Bool ?? false), "\(f): not_in_hw")
            let actions = opt["actions"] as? [[String: Any]] ?? []
            check(o.actions.count == actions.count, "\(f): \(o.actions.count) actions decoded, tc shows \(actions.count)")
            for (a, j) in zip(o.actions, actions) {
                let an = "\(f) action \(a.order) \(a.action.kindName)"
                check(Int(a.order) == j["order"] as? Int, "\(an): order")
                check(a.action.kindName == j["kind"] as? String, "\(an): tc says kind \(String(describing: j["kind"]))")
                check(Int(a.index) == j["index"] as? Int, "\(an): index")
                check(Int(a.references) == j["ref"] as? Int, "\(an): ref \(a.references) vs \(String(describing: j["ref"]))")
                check(Int(a.bindings) == j["bind"] as? Int, "\(an): bind")
                let control = (j["control_action"] as? [String: Any])?["type"] as? String
                switch a.action {
                case .mirred(let m):
                    check(m.mode.rawValue == j["mirred_action"] as? String, "\(an): mirred_action")
                    check(m.direction.rawValue == j["direction"] as? String, "\(an): direction")
                    check(names[m.targetIndex] == j["to_dev"] as? String, "\(an): to_dev \(String(describing: j["to_dev"]))")
                    check(m.result.description == control, "\(an): result \(m.result) vs \(String(describing: control))")
                case .gact(let r):
                    check(r.description == control, "\(an): result \(r) vs \(String(describing: control))")
                case .other:
                    check(false, "\(an): the action was not decoded")
                }
            }
        }
        return out
    }

    /// The qdiscs of `dev`.
    public static func qdiscDifferences(_ ns: LabNamespace, _ rt: Rtnetlink, dev: String) throws -> [String] {
        qdiscDifferences(try rt.qdiscs(device: .name(dev)), try ns.tcJSON("-d", "qdisc", "show", "dev", dev), where: dev)
    }

    public static func qdiscDifferences(_ ours: [Qdisc], _ theirs: [[String: Any]], where dev: String) -> [String] {
        var out: [String] = []
        func check(_ ok: Bool, _ what: @autoclosure () -> String) { if !ok { out.append("\(dev): \(what())") } }
        check(ours.count == theirs.count, "sandnet decoded \(ours.count) qdiscs, tc shows \(theirs.count)")
        for (o, t) in zip(ours, theirs) {
            let q = "qdisc \(o.kind) \(o.handle)"
            check(o.kind == t["kind"] as? String, "\(q): tc says kind \(String(describing: t["kind"]))")
            check(o.handle.description == t["handle"] as? String, "\(q): tc says handle \(String(describing: t["handle"]))")
            if o.isRoot {
                check(t["root"] as? Bool == true, "\(q): tc does not show it as root")
            } else {
                check(o.parent.description == t["parent"] as? String, "\(q): parent \(o.parent) vs \(String(describing: t["parent"]))")
            }
            if let h = o.htb {
                let opt = t["options"] as? [String: Any]
                check(Int(h.rateToQuantum) == opt?["r2q"] as? Int, "\(q): r2q")
                check("0x" + String(h.defaultClass, radix: 16) == opt?["default"] as? String, "\(q): default class")
                check(h.versionText == opt?["ver"] as? String, "\(q): ver")
                check(h.directQueueLength.map(Int.init) == opt?["direct_qlen"] as? Int, "\(q): direct_qlen")
                check(Int(h.directPackets) == opt?["direct_packets_stat"] as? Int, "\(q): direct_packets_stat")
            }
        }
        return out
    }
}
