import NetlinkCodec
import NetlinkSocket
import QemuWiring
import Rtnetlink
import SandnetCore
import TapDevices

#if canImport(Glibc)
    import Glibc
#endif

/// macvtap: a macvtap in bridge mode on the endpoint takes over the endpoint's MAC, so
/// the guest answers for it; the endpoint gets a random locally administered MAC and
/// gives up its addresses (saved in the journal with the routes and neighbours that go
/// with them) so the host no longer answers for the guest's addresses.
enum MacvtapModel {
    static func attach(_ e: ScannedLink, number: Int, _ ctx: ModelContext) throws -> ModelOutput {
        let rt = ctx.rt
        guard let original = e.mac, original.bytes.count == 6 else {
            throw SandboxError.modelNotApplicable(model: "macvtap", endpoint: e.name, reason: "it has no Ethernet MAC")
        }
        let saved = EndpointState.save(e)
        if !saved.addresses.isEmpty {
            try ctx.tx.step(.removeAddresses(link: e.name, saved: saved)) { tx in
                try EndpointState.remove(saved, from: e.name, rt: rt, tx: tx)
            }
        }
        // macvlan refuses a MAC equal to its lower device's, so the endpoint moves first.
        let replacement = MACAddress.randomLocal()
        try ctx.tx.step(.setMAC(link: e.name, original: original, replacement: replacement, ifindex: e.index)) { tx in
            try rt.linkSet(.index(e.index), LinkChange(address: replacement))
            tx.changed("set MAC \(original) -> \(replacement)", .link(e.name, ifindex: e.index))
        }
        let name = ctx.settings.deviceNames[e.name] ?? "sn\(ctx.tag)m\(number)"
        let index = try ctx.tx.step(.createLink(name: name, kind: "macvtap")) { tx -> Int32 in
            let link = try Macvtap.create(
                MacvtapSpec(name: name, parent: .index(e.index), mode: .bridge, address: original, mtu: e.mtu, up: true),
                in: rt, allowClash: true)
            try tx.amendLast(.createLink(name: name, kind: "macvtap", ifindex: link.index))
            tx.changed("create macvtap on \(e.name)", .link(name, ifindex: link.index))
            try rt.linkSet(.index(link.index), LinkChange(group: ctx.group))
            tx.changed("set link group \(ctx.group)", .link(name, ifindex: link.index))
            return link.index
        }
        // The guest transmits what the macvtap transmits (QEMU writes into its queues), and
        // receives what reaches the macvtap's ingress hook before its queues.
        let limit = ctx.settings.rateLimit(for: e.name)
        if let tx = limit.transmit { try RateShaping.shapeEgress(name, ifindex: index, rate: tx, ctx) }
        if let rx = limit.receive { try RateShaping.shapeIngress(name, ifindex: index, rate: rx, number: number, ctx) }
        // Queues are opened by `openQueues` once every endpoint is plumbed: one sysfs visit for all.
        return ModelOutput(device: name, guestMAC: original, macvtapIndex: index, queues: try ctx.queueLayout(for: e).queues)
    }

    /// Opens the queues (and vhost descriptors) of every macvtap in `outputs`, reading
    /// their device numbers in one visit to a private sysfs of the namespace.
    static func openQueues(_ outputs: inout [ModelOutput], _ ctx: ModelContext) throws {
        let pending = outputs.indices.filter { outputs[$0].macvtapIndex != nil }
        if pending.isEmpty { return }
        let numbers = try Macvtap.deviceNumbers(indexes: pending.compactMap { outputs[$0].macvtapIndex }, in: ctx.namespace)
        // Recorded before any queue is open: whoever holds one keeps the sandbox alive (SandboxLiveness).
        // A node this attach may make (for a /dev/tapN clash) is journaled before it is made,
        // so undo and gc remove it and nothing else; it is removed as soon as the queues are
        // open (open descriptors do not need it).
        let nodes = pending.compactMap { i in
            outputs[i].macvtapIndex.flatMap { numbers[$0] }.map { Macvtap.nodeName(index: outputs[i].macvtapIndex!, number: $0) }
        }
        try ctx.tx.update {
            if !numbers.isEmpty { $0.queueDevices = numbers.values.sorted { ($0.major, $0.minor) < ($1.major, $1.minor) } }
            $0.deviceNodes = ($0.deviceNodes ?? []) + nodes
        }
        let nodeDirectory = try ctx.tx.store.deviceNodeDirectory()
        for i in pending {
            guard let index = outputs[i].macvtapIndex, let device = outputs[i].device, let number = numbers[index] else { continue }
            let layout = try QueueLayout(queues: outputs[i].queues, vhost: ctx.vhostAvailable)
            let queues = try Macvtap.openQueues(
                name: device, index: index, number: number, count: layout.queueDescriptors,
                nodeDirectory: nodeDirectory)
            if let path = queues.devicePath, path.hasPrefix(nodeDirectory + "/") { unlink(path) }
            outputs[i].queueFDs = queues.takeDescriptors()
            outputs[i].macvtapIndex = nil
            outputs[i].queueDevice = number
            outputs[i].vhostFDs = try VhostDescriptors.open(layout)
        }
    }
}
