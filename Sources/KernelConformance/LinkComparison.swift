import Rtnetlink

/// Field-by-field comparison of sandnet's `Link`s with `ip -j -d link show`: the differences,
/// each naming the link and the field. Empty when they agree.
public enum LinkComparison {
    public static func names(_ links: [Link]) -> [Int32: String] {
        Dictionary(links.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
    }

    /// Both lists must hold the same links, each the same way.
    public static func differences(_ links: [Link], _ ipLinks: [[String: Any]]) -> [String] {
        var out: [String] = []
        if links.count != ipLinks.count { out.append("sandnet lists \(links.count) links, ip lists \(ipLinks.count)") }
        let names = names(links)
        for l in links {
            guard let j = ipLinks.first(where: { $0["ifindex"] as? Int == Int(l.index) }) else {
                out.append("ip does not list \(l.name) (index \(l.index))")
                continue
            }
            out += differences(l, j, names: names)
        }
        return out
    }

    public static func differences(_ l: Link, _ j: [String: Any], names: [Int32: String]) -> [String] {
        var out: [String] = []
        func check(_ ok: Bool, _ what: String) { if !ok { out.append("\(l.name): \(what)") } }
        check(j["ifname"] as? String == l.name, "name \(String(describing: j["ifname"]))")
        check(j["mtu"] as? UInt32 == l.mtu, "mtu \(String(describing: j["mtu"])) vs \(String(describing: l.mtu))")
        check(j["min_mtu"] as? UInt32 == l.minMTU && j["max_mtu"] as? UInt32 == l.maxMTU, "min/max mtu")
        check(j["address"] as? String == l.address?.description, "address \(String(describing: j["address"]))")
        check(j["broadcast"] as? String == l.broadcast?.description, "broadcast")
        check(j["txqlen"] as? UInt32 == l.txQueueLength, "txqlen \(String(describing: j["txqlen"]))")
        check(j["operstate"] as? String == l.operStateName, "operstate \(String(describing: j["operstate"]))")
        check(j["num_tx_queues"] as? UInt32 == l.txQueues && j["num_rx_queues"] as? UInt32 == l.rxQueues, "queues")
        check(j["link_type"] as? String == l.linkTypeName, "link_type \(String(describing: j["link_type"]))")
        check(j["qdisc"] as? String == l.qdisc, "qdisc")
        check((j["group"] as? String) == (l.group == 0 ? "default" : l.group.map(String.init)), "group")
        // ip adds pseudo-flags of its own (M-DOWN, NO-CARRIER); the kernel's IFF_* must all match.
        let ipFlags = Set((j["flags"] as? [String] ?? []).filter { $0 != "M-DOWN" && $0 != "NO-CARRIER" })
        check(ipFlags == Set(l.flagNames), "flags \(ipFlags.sorted()) vs \(l.flagNames)")
        check(j["master"] as? String == l.master.flatMap { names[$0] }, "master \(String(describing: j["master"]))")
        if let p = l.parent, p != l.index {
            if l.linkNetnsID != nil || names[p] == nil {
                check(j["link_index"] as? Int32 == p, "link_index \(String(describing: j["link_index"])) vs \(p)")
                check(j["link_netnsid"] as? Int32 == l.linkNetnsID, "link_netnsid")
            } else {
                check(j["link"] as? String == names[p], "link \(String(describing: j["link"])) vs \(String(describing: names[p]))")
            }
        } else {
            check(j["link"] == nil && j["link_index"] == nil, "no parent expected")
        }
        let info = j["linkinfo"] as? [String: Any]
        check(info?["info_kind"] as? String == l.kind, "kind \(String(describing: info?["info_kind"]))")
        check(info?["info_slave_kind"] as? String == l.slaveKind, "slave kind")
        let data = info?["info_data"] as? [String: Any] ?? [:]
        switch l.kindData {
        case .macvlan(let mode)?, .macvtap(let mode)?:
            check(data["mode"] as? String == mode.rawValue, "mode \(String(describing: data["mode"]))")
        case .ipvlan(let mode, _)?: check(data["mode"] as? String == mode.rawValue, "ipvlan mode \(String(describing: data["mode"]))")
        case .vlan(let id, let proto)?:
            check(data["id"] as? UInt16 == id, "vlan id")
            check(data["protocol"] as? String == (proto == 0x88a8 ? "802.1ad" : "802.1Q"), "vlan protocol")
        case .vxlan(let v)?:
            check(data["id"] as? UInt32 == v.vni && data["port"] as? UInt16 == v.port, "vni/port")
            // ip spells IPv6 endpoints group6/local6.
            let local = data["local"] ?? data["local6"]
            let group = data["group"] ?? data["group6"]
            check(local as? String == v.local?.description && group as? String == v.group?.description, "local/group")
            check(data["link"] as? String == v.lowerIndex.flatMap { names[Int32($0)] }, "vxlan lower device")
            check(data["learning"] as? Bool == v.learning && data["ttl"] as? UInt8 == v.ttl, "learning/ttl")
        case .tun(let t)?:
            check(data["type"] as? String == t.mode?.rawValue, "tun type")
            check(data["pi"] as? Bool == t.packetInfo && data["vnet_hdr"] as? Bool == t.vnetHeader, "pi/vnet_hdr")
            check(data["multi_queue"] as? Bool == t.multiQueue && data["persist"] as? Bool == t.persistent, "mq/persist")
        default: break
        }
        return out
    }
}
