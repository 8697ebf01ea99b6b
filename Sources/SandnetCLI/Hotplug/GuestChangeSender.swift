import SandboxNetwork
import SandnetCore

/// Tells the guest about an interface before it needs it (after `device_add`) and before
/// it loses it (before `device_del`): the guest channel (docs/guest-channel.md) behind it.
public protocol GuestChangeSender: Sendable {
    func interfaceAdded(_ interface: GuestInterface) throws
    func interfaceRemoved(name: String, mac: MACAddress?) throws
}
