import Foundation
import SandnetCore
import TOMLKit

/// The parts of a Kata Containers `configuration.toml` that decide what the host's
/// network needs: `[runtime] internetworking_model` and `disable_new_netns`, and from the
/// hypervisor section `disable_vhost_net`, `machine_type` and `pcie_root_port`.
public struct KataSettings: Sendable, Codable, Equatable {
    public var path: String
    /// `[hypervisor.NAME]`: qemu, clh, firecracker... (the first one found; qemu preferred).
    public var hypervisor: String?
    /// As written; nil when the key is absent (Kata's built-in default is tcfilter).
    public var internetworkingModel: String?
    public var disableNewNetns: Bool
    public var disableVhostNet: Bool
    public var machineType: String?
    public var pcieRootPort: Int?
    /// `network_queues` (runtime-rs): queue pairs per NIC; nil when absent or 0 (one per vCPU).
    public var networkQueues: Int? = nil
    /// `rx_rate_limiter_max_rate` / `tx_rate_limiter_max_rate`: bits per second into and out
    /// of the VM; nil when absent or 0 (unlimited).
    public var rxRateLimiterMaxRate: UInt64? = nil
    public var txRateLimiterMaxRate: UInt64? = nil
    /// What is wrong with the configuration itself, one sentence each.
    public var problems: [String]

    /// The model the runtime will use; nil when the configured one is not valid.
    public var model: NetworkModel? {
        NetworkModel(rawValue: (internetworkingModel ?? "tcfilter").lowercased())
    }

    /// The files Kata reads, in the order it reads them.
    public static let defaultPaths = [
        "/etc/kata-containers/configuration.toml",
        "/usr/share/defaults/kata-containers/configuration.toml"
    ]
}

public enum KataConfigError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case invalidTOML(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "cannot read Kata configuration \(p): \(r)"
        case .invalidTOML(let p, let r): return "Kata configuration \(p) is not valid TOML: \(r)"
        }
    }
}

extension KataSettings {
    /// The first default path that exists, or nil.
    public static func locate(fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) -> String? {
        defaultPaths.first(where: fileExists)
    }

    public static func load(path: String) throws -> KataSettings {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KataConfigError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) throws -> KataSettings {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch let e as TOMLParseError {
            throw KataConfigError.invalidTOML(path: path, reason: "\(e.description) at line \(e.source.begin.line)")
        }
        var problems: [String] = []
        let runtime = root["runtime"]?.table
        let hypervisors = root["hypervisor"]?.table
        let name = hypervisors.flatMap { h in h.keys.contains("qemu") ? "qemu" : h.keys.sorted().first }
        let hv = name.flatMap { hypervisors?[$0]?.table }

        func bool(_ t: TOMLTable?, _ key: String, section: String) -> Bool {
            guard let v = t?[key] else { return false }
            if let b = v.bool { return b }
            problems.append("[\(section)] \(key) must be true or false, not \(v)")
            return false
        }
        var s = KataSettings(
            path: path, hypervisor: name, internetworkingModel: nil,
            disableNewNetns: bool(runtime, "disable_new_netns", section: "runtime"),
            disableVhostNet: bool(hv, "disable_vhost_net", section: "hypervisor.\(name ?? "?")"),
            machineType: hv?["machine_type"]?.string, pcieRootPort: nil, problems: [])
        if let v = runtime?["internetworking_model"] {
            if let m = v.string {
                s.internetworkingModel = m
            } else {
                problems.append("[runtime] internetworking_model must be a string (\"tcfilter\", \"macvtap\" or \"none\")")
            }
        }
        if let v = hv?["pcie_root_port"] {
            if let n = v.int, n >= 0 {
                s.pcieRootPort = n
            } else {
                problems.append("[hypervisor.\(name ?? "?")] pcie_root_port must be a non-negative integer")
            }
        }
        let section = "hypervisor.\(name ?? "?")"
        if let v = hv?["network_queues"] {
            if let n = v.int, (0...256).contains(n) {
                s.networkQueues = n == 0 ? nil : n
            } else {
                problems.append("[\(section)] network_queues must be an integer from 0 (one per vCPU) to 256")
            }
        }
        for key in ["rx_rate_limiter_max_rate", "tx_rate_limiter_max_rate"] {
            guard let v = hv?[key] else { continue }
            guard let n = v.int, n >= 0 else {
                problems.append("[\(section)] \(key) must be a non-negative integer (bits per second, 0 for unlimited)")
                continue
            }
            let rate = n == 0 ? nil : UInt64(n)
            if key.hasPrefix("rx") { s.rxRateLimiterMaxRate = rate } else { s.txRateLimiterMaxRate = rate }
        }
        if let m = s.internetworkingModel, NetworkModel(rawValue: m.lowercased()) == nil {
            problems.append(
                "[runtime] internetworking_model = \"\(m)\" is not a model the runtime knows "
                    + "(\"Invalid internetworking model\"): use \"tcfilter\", \"macvtap\" or \"none\"")
        }
        if s.disableNewNetns, let m = s.model, m != .none {
            problems.append(
                "[runtime] disable_new_netns = true works only with internetworking_model = \"none\", "
                    + "not \"\(m.rawValue)\": set the model to \"none\" or disable_new_netns to false")
        }
        if hv == nil { problems.append("no [hypervisor.*] section: machine type, vhost-net and PCIe root ports cannot be checked") }
        s.problems = problems
        return s
    }
}
