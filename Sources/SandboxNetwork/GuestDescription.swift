import Foundation
import NetlinkCodec
import SandnetCore

/// What a guest agent needs to configure the sandbox's network from inside the VM, and
/// nothing more. Documented in docs/guest-description.md; versioned so a guest can refuse
/// a layout it does not know. Emitted pretty-printed with sorted keys and no escaped
/// slashes, one scalar per line, so a busybox awk script can read it.
public struct GuestDescription: Codable, Equatable, Sendable {
    /// Bumped on any change a version-1 reader would misread (new optional keys are not such a change).
    public static let currentVersion = 1

    public var version: Int
    /// The sandbox id given to `sandnet attach`.
    public var sandbox: String
    /// In the order of the VM's root ports (interface i sits on root port i).
    public var interfaces: [GuestInterface]
    /// resolv.conf lines (`nameserver …`, `search …`, `options …`), when a resolv.conf was given.
    public var dns: [String]?

    public init(sandbox: String, interfaces: [GuestInterface], dns: [String]? = nil) {
        self.version = Self.currentVersion
        self.sandbox = sandbox
        self.interfaces = interfaces
        self.dns = dns
    }

    /// The document as the guest reads it.
    public func encoded() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(self) + Data("\n".utf8)
    }

    /// Parses a document, refusing versions this build does not know.
    public static func decode(_ data: Data) throws -> GuestDescription {
        struct Version: Decodable { var version: Int }
        let v = try JSONDecoder().decode(Version.self, from: data).version
        guard v == currentVersion else { throw GuestDescriptionError.unsupportedVersion(v) }
        return try JSONDecoder().decode(GuestDescription.self, from: data)
    }

    /// The resolv.conf lines a guest needs: nameserver, search, domain and options, without
    /// comments or blank lines, whitespace collapsed to single spaces.
    public static func dnsLines(fromResolvConf text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { raw in
            let line = raw.prefix { $0 != "#" && $0 != ";" }
            let words = line.split(whereSeparator: \.isWhitespace)
            guard let key = words.first, ["nameserver", "search", "domain", "options"].contains(String(key)), words.count > 1 else {
                return nil
            }
            return words.joined(separator: " ")
        }
    }
}

/// One guest NIC: the host endpoint it stands for, and where it sits on PCI.
public struct GuestInterface: Codable, Equatable, Sendable {
    /// Name to give the NIC in the guest: the endpoint's name in the pod's namespace.
    public var name: String
    /// MAC of the guest NIC (what QEMU's `mac=` says).
    public var mac: MACAddress
    public var mtu: Int
    /// `198.51.100.2/24`, `2001:db8::2/64`: what `ip addr add` takes.
    public var addresses: [IPPrefix]
    /// Apply in this order: routes without a gateway come first so gateways are reachable.
    public var routes: [GuestRoute]
    /// Static neighbour entries (permanent ones, and the default gateway's).
    public var neighbours: [GuestNeighbour]
    /// QEMU id of the root port the NIC sits on; absent when there is no NIC (model `none`).
    public var pciRootPort: String?
    /// The root port's address on bus 00 of domain 0000 (`00:10.1`).
    public var pciRootPortAddress: String?
    /// The NIC's slot.function behind that port (always `00.0`).
    public var pciSlot: String?
    /// The host-side model that carries this interface: tcfilter, macvtap or none.
    public var model: String

    enum CodingKeys: String, CodingKey {
        case name, mac, mtu, addresses, routes, neighbours, model
        case pciRootPort = "pci_root_port"
        case pciRootPortAddress = "pci_root_port_address"
        case pciSlot = "pci_slot"
    }

    public init(
        name: String, mac: MACAddress, mtu: Int, addresses: [IPPrefix], routes: [GuestRoute], neighbours: [GuestNeighbour],
        pciRootPort: String? = nil, pciRootPortAddress: String? = nil, pciSlot: String? = nil, model: String
    ) {
        self.name = name
        self.mac = mac
        self.mtu = mtu
        self.addresses = addresses
        self.routes = routes
        self.neighbours = neighbours
        self.pciRootPort = pciRootPort
        self.pciRootPortAddress = pciRootPortAddress
        self.pciSlot = pciSlot
        self.model = model
    }
}

/// A route through the interface it is listed under.
public struct GuestRoute: Codable, Equatable, Sendable {
    /// `default` or a prefix (`198.51.100.0/24`).
    public var destination: String
    /// `inet` or `inet6`, so `default` is unambiguous.
    public var family: String
    public var gateway: IPAddress?
    /// Preferred source address.
    public var source: IPAddress?
    /// `universe`, `link` or `host`.
    public var scope: String
    /// Path MTU of the route, when it has one.
    public var mtu: Int?

    public init(destination: String, family: String, gateway: IPAddress? = nil, source: IPAddress? = nil, scope: String, mtu: Int? = nil) {
        self.destination = destination
        self.family = family
        self.gateway = gateway
        self.source = source
        self.scope = scope
        self.mtu = mtu
    }
}

/// A static neighbour (ARP/NDP) entry.
public struct GuestNeighbour: Codable, Equatable, Sendable {
    public var address: IPAddress
    public var mac: MACAddress
    public init(address: IPAddress, mac: MACAddress) {
        self.address = address
        self.mac = mac
    }
}

public enum GuestDescriptionError: Error, Equatable, CustomStringConvertible, Sendable {
    case unsupportedVersion(Int)
    public var description: String {
        switch self {
        case .unsupportedVersion(let v):
            return "guest description version \(v) is not supported (this sandnet writes version \(GuestDescription.currentVersion))"
        }
    }
}
