import ArgumentParser
import Foundation
import Logging
import Qmp
import SandboxNetwork
import SandnetCore

/// Plug and unplug of one endpoint over QMP, with the host side from `SandboxPlug`. Each
/// step that QEMU or the host can refuse is undone in reverse when a later one fails, and
/// the journal says at each point how far it got (`PluggedEndpoint.State`).
struct HotplugDriver: Sendable {
    let sandbox: String
    let store: JournalStore
    let qmp: QmpClient
    /// The guest channel (docs/guest-channel.md); nil: the guest is not told.
    let guest: GuestChannelSender?
    let logger: Logger
    /// How long unplug waits for the guest to release the NIC (DEVICE_DELETED).
    var unplugTimeout: Duration = .seconds(10)
    /// How long the guest has to acknowledge a channel change.
    var channelTimeout: Duration = .seconds(10)
    /// Asked between the steps of a plug up to device_add: true (a SIGTERM came) rolls the
    /// plug back there. After device_add the plug is finished instead: the guest has the NIC.
    var stopRequested: @Sendable () -> Bool = { false }
    /// Fault injection only (sandnet-lab fault-plug): called at each `PlugPoint`.
    var checkpoint: PlugCheckpoint?
    /// Fault injection only: called after each kernel change of the host side.
    var afterKernelChange: KernelChangeHook?

    struct Plugged: Sendable {
        var endpoint: String
        var rootPort: String
        var device: String
        /// From the start of the host side to `device_add`'s reply, and to the channel's change.
        var hostAndQemu: Duration
        var total: Duration
    }

    /// Wires the endpoint, hands QEMU its descriptors, adds the netdev and the NIC, and
    /// announces it to the guest. On a failure: netdev_del, closefd, host side undone.
    func plug(_ settings: PlugSettings) throws -> Plugged {
        let start = ContinuousClock.now
        let wired = try SandboxPlug.wire(settings, store: store, logger: logger, afterKernelChange: afterKernelChange)
        defer { wired.closeDescriptors() }
        let p = wired.plugged
        let names = HotplugNames(nicID: p.nicID, queues: wired.queueFDs.count, vhost: !wired.vhostFDs.isEmpty)
        var log = logger
        log[metadataKey: "sandbox"] = "\(sandbox)"
        log[metadataKey: "endpoint"] = "\(p.endpoint)"
        var given: [String] = []
        var netdevAdded = false
        var step = "getfd"
        do {
            checkpoint?(.wired)
            if stopRequested() { throw PlugStopRequested() }
            for (name, fd) in zip(names.queues + names.vhost, wired.queueFDs + wired.vhostFDs) {
                try qmp.getfd(name: name, descriptor: fd)
                given.append(name)
            }
            step = "netdev_add"
            try qmp.netdevAdd(QmpTapNetdev(id: p.nicID, queueFdNames: names.queues, vhostFdNames: names.vhost))
            netdevAdded = true
            step = "device_add"
            checkpoint?(.netdevAdded)
            if stopRequested() { throw PlugStopRequested() }
            var device = QmpVirtioNetDevice(
                id: names.device, netdev: p.nicID, mac: wired.guestInterface.mac, bus: wired.rootPort.id, queues: names.queues.count
            ).arguments
            // As the boot NICs (QemuNICPlacement): multiqueue and 2×queues+2 vectors even for one queue.
            device["mq"] = "on"
            device["vectors"] = .int(Int64(2 * names.queues.count + 2))
            try qmp.execute("device_add", arguments: device)
        } catch {
            log.notice("plug failed in QEMU; rolling back", metadata: ["step": "\(step)", "error": "\(error)"])
            var cleanup: [String] = []
            // netdev_add took the named descriptors (QEMU drops a name once used); before it, close QEMU's copies.
            if netdevAdded {
                do { try qmp.netdevDel(id: p.nicID) } catch { cleanup.append("netdev_del \(p.nicID): \(error)") }
            } else {
                for name in given { try? qmp.closefd(name: name) }
            }
            do { try SandboxPlug.unwire(sandbox: sandbox, endpoint: p.endpoint, store: store, logger: logger) } catch {
                cleanup.append("\(error)")
            }
            if error is PlugStopRequested { throw HotplugFailure.plugStopped(endpoint: p.endpoint, before: step, cleanup: cleanup) }
            throw HotplugFailure.plugRolledBack(endpoint: p.endpoint, step: step, cause: "\(error)", cleanup: cleanup)
        }
        // From here a signal does not undo the plug: the guest has the NIC, so the plug is finished.
        checkpoint?(.deviceAdded)
        let inQemu = ContinuousClock.now - start
        try SandboxPlug.mark(sandbox: sandbox, endpoint: p.endpoint, state: .inGuest, store: store)
        log.info("plugged", metadata: ["device": "\(names.device)", "rootPort": "\(wired.rootPort.id)", "queues": "\(names.queues.count)"])
        if let guest {
            do { try guest.send(.addInterface(wired.guestInterface), timeout: channelTimeout) } catch {
                // The NIC is in the guest but unconfigured: take it out again rather than leave it half there.
                log.notice("guest channel refused the change; unplugging", metadata: ["error": "\(error)"])
                try unplug(endpoint: p.endpoint, announce: false)
                throw HotplugFailure.plugRolledBack(
                    endpoint: p.endpoint, step: "guest channel", cause: "\(error)", cleanup: [])
            }
        }
        return Plugged(
            endpoint: p.endpoint, rootPort: wired.rootPort.id, device: names.device, hostAndQemu: inQemu, total: ContinuousClock.now - start
        )
    }

    /// Announces the removal, asks QEMU to remove the NIC, waits (bounded) for the guest to
    /// let go, removes the netdev, and undoes the host side. A timeout keeps everything
    /// past `device_del` in place (state `unplugging`) so a retry finishes it. The NIC is a
    /// plugged one, or one the attach put on QEMU's command line (`AttachedNIC`): its host
    /// side is then its part of the attach's steps.
    func unplug(endpoint: String, announce: Bool = true) throws {
        let journal = try SandboxPlug.journal(sandbox: sandbox, store: store)
        let device: String
        if let p = journal.plugged?.first(where: { $0.endpoint == endpoint }) {
            device = HotplugNames.device(p.nicID)
            try removeFromQemu(endpoint: endpoint, device: device, netdev: p.nicID, mac: p.guestMAC, announce: announce) {
                if p.state != .unplugging { try SandboxPlug.mark(sandbox: sandbox, endpoint: endpoint, state: .unplugging, store: store) }
            }
            try SandboxPlug.mark(sandbox: sandbox, endpoint: endpoint, state: .wired, store: store)
            try SandboxPlug.unwire(sandbox: sandbox, endpoint: endpoint, store: store, logger: logger)
        } else if let i = journal.attachedNIC(endpoint) {
            let n = journal.attachedNICs![i]
            device = n.device
            try removeFromQemu(endpoint: endpoint, device: device, netdev: n.netdev, mac: n.guestMAC, announce: announce) {
                if n.state != .unplugging {
                    try SandboxPlug.mark(sandbox: sandbox, attachedEndpoint: endpoint, state: .unplugging, store: store)
                }
            }
            try SandboxPlug.unwire(sandbox: sandbox, attachedEndpoint: endpoint, store: store, logger: logger)
        } else {
            throw HotplugError.notPlugged(
                endpoint: endpoint, sandbox: sandbox, attached: journal.endpoints?.contains { $0.name == endpoint } ?? false)
        }
        var log = logger
        log[metadataKey: "sandbox"] = "\(sandbox)"
        log[metadataKey: "endpoint"] = "\(endpoint)"
        log.info("unplugged", metadata: ["device": "\(device)"])
    }

    /// The QEMU half of an unplug: `markUnplugging` (journaled before QEMU is asked, so a
    /// kill from here on finishes the unplug rather than undoes it); when QEMU has `device`,
    /// the guest told (`announce`), device_del and a bounded wait for DEVICE_DELETED; then
    /// netdev_del (tolerating its absence: never added, or removed by an earlier try).
    private func removeFromQemu(
        endpoint: String, device: String, netdev: String, mac: MACAddress?, announce: Bool, markUnplugging: () throws -> Void
    ) throws {
        var log = logger
        log[metadataKey: "sandbox"] = "\(sandbox)"
        log[metadataKey: "endpoint"] = "\(endpoint)"
        let present = try qmp.peripheralDeviceIDs()[device] != nil
        try markUnplugging()
        if present {
            if announce, let guest, let mac {
                do { try guest.send(.removeInterface(name: endpoint, mac: mac), timeout: channelTimeout) } catch {
                    // The NIC goes anyway: a guest that cannot hear it loses the interface all the same.
                    log.notice("guest channel did not take the removal", metadata: ["error": "\(error)"])
                }
            }
            if let e = Self.failure({ try qmp.deviceDel(id: device) }) {
                let qemu = e as? QmpClientError
                if qemu?.qemuErrorClass == "DeviceNotFound" {
                    log.info("device already gone", metadata: ["device": "\(device)"])
                } else if qemu?.qemuErrorClass != nil, "\(e)".contains("in the process of unplug") {
                    log.info("device_del already pending; waiting again", metadata: ["device": "\(device)"])
                } else {
                    throw HotplugFailure.unplugFailed(endpoint: endpoint, step: "device_del", cause: "\(e)")
                }
            }
            if let e = Self.failure({ try qmp.waitForDeviceDeleted(id: device, timeout: unplugTimeout) }) {
                guard case .timedOut = e as? QmpClientError else {
                    throw HotplugFailure.unplugFailed(endpoint: endpoint, step: "waiting for DEVICE_DELETED", cause: "\(e)")
                }
                // Gone meanwhile without our seeing the event (another client took it)? Then go on.
                if try qmp.peripheralDeviceIDs()[device] != nil {
                    log.notice("guest did not release the NIC; state kept", metadata: ["device": "\(device)"])
                    throw HotplugFailure.unplugTimedOut(endpoint: endpoint, device: device, seconds: Int(unplugTimeout.components.seconds))
                }
            }
        }
        if let e = Self.failure({ try qmp.netdevDel(id: netdev) }), (e as? QmpClientError)?.qemuErrorClass != "DeviceNotFound" {
            throw HotplugFailure.unplugFailed(endpoint: endpoint, step: "netdev_del", cause: "\(e)")
        }
    }
}

extension HotplugDriver {
    /// The error `body` throws, or nil: QEMU's refusals are sorted by class, not thrown on.
    static func failure(_ body: () throws -> Void) -> (any Error)? {
        do {
            try body()
            return nil
        } catch { return error }
    }
}

/// Where a plug can be stopped by a fault-injection test (`sandnet-lab fault-plug`); nothing on a node sets it.
public enum PlugPoint: String, CaseIterable, Sendable, ExpressibleByArgument {
    /// The host side made; QEMU not asked yet.
    case wired
    /// getfd and netdev_add done; device_add not sent.
    case netdevAdded = "netdev-added"
    /// device_add done; the journal not updated yet.
    case deviceAdded = "device-added"
}

public typealias PlugCheckpoint = @Sendable (PlugPoint) -> Void

/// A signal asked the plug to stop before device_add.
private struct PlugStopRequested: Error {}

/// The QEMU names of a plugged NIC: `getfd` names per descriptor, the device id.
struct HotplugNames {
    var queues: [String]
    var vhost: [String]
    var device: String

    init(nicID: String, queues: Int, vhost: Bool) {
        self.queues = (0..<queues).map { "\(nicID)-q\($0)" }
        self.vhost = vhost ? (0..<queues).map { "\(nicID)-v\($0)" } : []
        device = Self.device(nicID)
    }

    static func device(_ nicID: String) -> String { "\(nicID)-nic" }
}
