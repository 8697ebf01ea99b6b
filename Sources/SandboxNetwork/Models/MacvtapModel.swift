import NetlinkCodec
import NetlinkSocket
import Rtnetlink
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
                try EndpointState.remove(saved, from: e.name, rt: rt, changed: tx.changed)
            }
        }
        // macvlan refuses a MAC equal to its lower device's, so the endpoint moves first.
        let replacement = MACAddress.randomLocal()
        try ctx.tx.step(.setMAC(link: e.name, original: original, replacement: replacement)) { tx in
            try rt.linkSet(.index(e.index), LinkChange(address: replacement)); tx.changed()
        }
        let name = "sn\(ctx.tag)m\(number)"
        try ctx.tx.step(.createLink(name: name)) { tx in
            try Macvtap.create(MacvtapSpec(name: name, parent: .index(e.index), mode: .bridge, address: original, mtu: e.mtu, up: true),
                               in: rt, allowClash: true)
            tx.changed()
            try rt.linkSet(.name(name), LinkChange(group: ctx.group)); tx.changed()
        }
        let queues = try Macvtap.openQueues(.name(name), count: ctx.settings.vcpus, in: rt,
                                            nodeDirectory: "\(ctx.tx.store.directory)/dev")
        let fds = queues.takeDescriptors()
        do {
            let vhost = try VhostDescriptors.open(count: fds.count)
            return ModelOutput(device: name, guestMAC: original, queueFDs: fds, vhostFDs: vhost)
        } catch {
            for fd in fds { close(fd) }
            throw error
        }
    }
}
