import QemuWiring
import SandnetCore

/// The checks a plug makes before its first change: which endpoint, and whether the model fits it.
enum PlugChoice {
    /// The named endpoint, or with no name the one endpoint no sandbox of this journal holds.
    static func endpoint(_ name: String?, scan: NamespaceScan, journal: SandboxJournal) throws -> ScannedLink {
        let unwired = scan.endpoints.filter { !journal.claims(name: $0.name, ifindex: $0.index) }
        guard let name else {
            guard unwired.count == 1 else {
                throw HotplugError.endpointToChoose(namespace: scan.namespace, candidates: unwired.map(\.name))
            }
            return unwired[0]
        }
        guard let link = scan.links.first(where: { $0.name == name }) else {
            throw HotplugError.noSuchEndpoint(endpoint: name, namespace: scan.namespace, why: "no link of that name")
        }
        guard link.isEndpoint else {
            throw HotplugError.noSuchEndpoint(endpoint: name, namespace: scan.namespace, why: link.reason ?? "it is not an endpoint")
        }
        guard unwired.contains(where: { $0.index == link.index }) else {
            throw HotplugError.alreadyWired(endpoint: name, sandbox: journal.sandbox)
        }
        return link
    }

    static func checkModel(_ model: NetworkModel, for e: ScannedLink) throws {
        guard let mac = e.mac, mac.bytes.count == 6 else {
            throw SandboxError.modelNotApplicable(model: model.rawValue, endpoint: e.name, reason: "it has no Ethernet MAC")
        }
        if model == .macvtap, e.linkClass == .ipvlan {
            throw SandboxError.modelNotApplicable(
                model: "macvtap", endpoint: e.name,
                reason: "an ipvlan shares its parent's MAC, so a macvtap on it cannot take over the MAC; use tcfilter")
        }
    }

    /// The interface as attach would have described it, on the plug's root port.
    static func guestInterface(_ e: ScannedLink, mac: MACAddress, port: RootPortRecord, model: NetworkModel) -> GuestInterface {
        GuestInterface(
            name: e.name, mac: mac, mtu: Int(e.mtu), addresses: e.addresses.filter { !$0.isLinkLocal }.map(\.prefix),
            routes: SandboxAttach.guestRoutes(e.routes), neighbours: e.neighbours.map { GuestNeighbour(address: $0.address, mac: $0.mac) },
            pciRootPort: port.id, pciRootPortAddress: port.guestAddress, pciSlot: "00.0", model: model.rawValue)
    }
}

extension SandboxJournal {
    /// Drops a plugged endpoint's record, claim, root port use and queue device: its host
    /// side is undone (or was never made).
    mutating func forget(pluggedAt index: Int) {
        guard var list = plugged, list.indices.contains(index) else { return }
        let p = list.remove(at: index)
        plugged = list
        endpoints?.removeAll { $0.ifindex == p.ifindex }
        if let i = rootPorts?.firstIndex(where: { $0.id == p.rootPort }) { rootPorts![i].endpoint = nil }
        if let d = p.queueDevice { queueDevices?.removeAll { $0 == d } }
    }
}
