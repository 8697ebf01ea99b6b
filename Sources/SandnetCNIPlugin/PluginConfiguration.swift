import Foundation
import SandnetCore

/// The network configuration sandnet-cni reads from stdin: the specification's keys, the
/// previous plugin's result, and sandnet's own keys (see docs/cni.md).
public struct PluginConfiguration: Sendable {
    public var cniVersion: String
    public var name: String
    /// `model`: tcfilter (default, as tc-redirect-tap) or macvtap.
    public var model: NetworkModel
    /// `queues`, or `runtimeConfig.queues`: tap queues, one per vCPU the VMM will use.
    public var queues: Int
    public var tapName: String?
    public var tapUID: UInt32?
    public var tapGID: UInt32?
    /// `stateDir`: sandnet's journal directory (default /run/sandnet, or SANDNET_STATE_DIR).
    public var stateDirectory: String?
    /// The previous plugin's result, as JSON, untouched (kept as bytes: JSON objects are not Sendable).
    public var prevResultJSON: Data?
    public var prevResult: [String: Any]? {
        prevResultJSON.flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any] }
    }
    /// GC: `cni.dev/valid-attachments`, as (container id, interface name).
    public var validAttachments: [ValidAttachment]?

    static func forVersion(stdin: Data) -> PluginConfiguration {
        PluginConfiguration(cniVersion: CNIRequest.errorVersion(stdin: stdin), name: "", model: .tcfilter, queues: 1)
    }

    static func parse(_ stdin: Data) throws -> PluginConfiguration {
        guard let object = try? JSONSerialization.jsonObject(with: stdin), let top = object as? [String: Any] else {
            throw CNIFailure(.decode, "the network configuration on stdin is not a JSON object")
        }
        guard let version = top["cniVersion"] as? String else { throw CNIFailure(.invalidNetworkConfig, "cniVersion is missing") }
        guard CNIVersions.supported.contains(version) else {
            throw CNIFailure(
                .incompatibleVersion, "CNI version \(version) is not supported",
                details: "sandnet-cni supports \(CNIVersions.supported.joined(separator: ", "))")
        }
        guard let name = top["name"] as? String, !name.isEmpty else { throw CNIFailure(.invalidNetworkConfig, "name is missing") }
        var c = PluginConfiguration(cniVersion: version, name: name, model: .tcfilter, queues: 1)
        if let m = top["model"] {
            guard let text = m as? String, let model = NetworkModel(rawValue: text), model != .none else {
                throw CNIFailure(.invalidNetworkConfig, "model \(m) is not tcfilter or macvtap")
            }
            c.model = model
        }
        let runtime = top["runtimeConfig"] as? [String: Any] ?? [:]
        if let q = runtime["queues"] ?? top["queues"] {
            guard let n = q as? Int, (1...256).contains(n) else { throw CNIFailure(.invalidNetworkConfig, "queues \(q) is not 1 to 256") }
            c.queues = n
        }
        if let t = top["tapName"] {
            guard let text = t as? String, isLinkName(text) else {
                throw CNIFailure(.invalidNetworkConfig, "tapName \(t) is not a Linux link name (1-15 bytes, no '/', ':' or space)")
            }
            c.tapName = text
        }
        c.tapUID = try id(top["tapUID"], "tapUID")
        c.tapGID = try id(top["tapGID"], "tapGID")
        if let d = top["stateDir"] {
            guard let text = d as? String, text.hasPrefix("/") else {
                throw CNIFailure(.invalidNetworkConfig, "stateDir \(d) is not an absolute path")
            }
            c.stateDirectory = text
        }
        if let p = top["prevResult"] {
            guard let o = p as? [String: Any], let data = try? JSONSerialization.data(withJSONObject: o) else {
                throw CNIFailure(.decode, "prevResult is not a JSON object")
            }
            c.prevResultJSON = data
        }
        if let list = top["cni.dev/valid-attachments"] as? [[String: Any]] {
            c.validAttachments = list.compactMap { a in
                (a["containerID"] as? String).map { ValidAttachment(containerID: $0, interfaceName: a["ifname"] as? String ?? "") }
            }
        }
        return c
    }

    static func id(_ value: Any?, _ key: String) throws -> UInt32? {
        guard let value else { return nil }
        guard let n = value as? Int, n >= 0, n < Int(UInt32.max) else {
            throw CNIFailure(.invalidNetworkConfig, "\(key) \(value) is not a uid/gid")
        }
        return UInt32(n)
    }

    static func isLinkName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 15 && s != "." && s != ".." && !s.contains(where: { $0 == "/" || $0 == ":" || $0.isWhitespace })
    }
}

/// One entry of GC's `cni.dev/valid-attachments`.
public struct ValidAttachment: Sendable, Equatable {
    public var containerID: String
    public var interfaceName: String
}
