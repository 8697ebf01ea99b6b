import CNI
import Foundation
import NetlinkSocket
import QemuWiring
import SandboxNetwork
import SandnetCore

/// One complete run, the way a VM sandbox runtime would do it: CNI builds the pod's
/// network, sandnet attaches it with a model, QEMU boots the guest with sandnet's
/// arguments, the guest proves it reaches the peer, and everything is torn down and checked.
public enum EndToEnd {
    public struct Options: Sendable {
        public var architecture: Architecture
        public var model: NetworkModel
        public var nics: Int
        /// Leave everything in place for debugging (no detach, no teardown).
        public var keep: Bool = false
        public var skipModules: [String] = []
        public var qemuBinary: String?
        /// Appended to QEMU's arguments (a bad one shows how a QEMU that fails to start is reported).
        public var extraQemuArguments: [String] = []
        public var timeoutSeconds: Double = 180
        /// The lab's id (`Lab.newID()` when nil): a test picks it to find its own leftovers.
        public var labID: String?
        /// The last N NICs are left out of the boot-time guest description and sent as
        /// add-interface changes over the guest channel once the guest listens on it.
        public var channelNICs = 0
        /// The VM's vCPUs (QEMU -smp) and NIC queue pairs (nil: one per vCPU).
        public var vcpus: Int = 1
        public var queues: Int?
        /// Rate limits by endpoint name (eth0, eth1 ...).
        public var rateLimits: [String: RateLimit] = [:]
        /// The dual-stack pod (`Lab.addDualStack`) on the first network.
        public var dualStack: DualStackPlan?
        /// Appended to the guest kernel's command line (`ipv6.disable=1`).
        public var extraKernelArguments: [String] = []
        /// Bytes the guest uploads to every peer after its download (0: no upload).
        public var uploadBytes: Int = 0
        /// One more endpoint, a vlan or ipvlan the way their CNI plugins make it (`Lab.addLowerDeviceEndpoint`).
        public var lowerDeviceEndpoint: LowerDeviceEndpoint?

        public init(architecture: Architecture, model: NetworkModel, nics: Int = 1) {
            self.architecture = architecture
            self.model = model
            self.nics = nics
        }
    }

    public struct Report: Sendable {
        public var architecture: Architecture
        public var machine: String
        public var model: NetworkModel
        public var nics: Int
        public var bootToNetworkSeconds: Double
        public var results: [PeerProbeResult]
        public var token: String
        /// What was checked after teardown, each found clean.
        public var checked: [String]
        public var kept: Lab?
        /// The guest's SANDNET-CHANNEL lines for the changes it acknowledged.
        public var channelLines: [String] = []
        /// What the guest printed and counted (queues, ip -j output, pings).
        public var guest: GuestReport? = nil
        public var guestDescription: GuestDescription? = nil
        public var qemuArguments: [String] = []
    }

    public enum Event: Sendable {
        case step(String)
        case guest(GuestProgress)
    }

    public static func run(_ options: Options, image: GuestImage, progress: @escaping (Event) -> Void = { _ in }) throws -> Report {
        let machineBefore = try NamespaceFootprint(namespace: nil)
        progress(.step("creating host, pod and peer namespaces through CNI (\(options.nics) network\(options.nics == 1 ? "" : "s"))"))
        let lab = try Lab(nics: options.nics, id: options.labID) { progress(.step($0)) }
        let store = JournalStore(directory: lab.journalDirectory)
        let sandbox = "sn-lab-\(lab.id)"
        var attached = false
        var failure: Error?
        var report: Report?
        do {
            if let plan = options.dualStack { try lab.addDualStack(plan) }
            if options.uploadBytes > 0 { try lab.startUploadReceiver(bytes: options.uploadBytes) }
            var targets = lab.probeTargets
            if let kind = options.lowerDeviceEndpoint { targets.append(try lab.addLowerDeviceEndpoint(kind, name: "eth\(options.nics)")) }
            let podBefore = try NamespaceFootprint(namespace: lab.podNamespace)
            progress(.step("sandnet attach --model \(options.model) --arch \(options.architecture) (\(lab.podNamespacePath))"))
            var settings = AttachSettings(
                sandbox: sandbox, namespace: lab.podNamespacePath, model: options.model, vcpus: options.vcpus,
                architecture: options.architecture)
            settings.queues = options.queues
            settings.endpointRateLimits = options.rateLimits
            let attach = try SandboxAttach.attach(settings, store: store)
            attached = true
            defer { attach.closeDescriptors() }
            guard let plan = attach.plan else {
                throw LabError.invalidArgument("model \(options.model) gives QEMU no NICs; the demo needs tcfilter or macvtap")
            }
            var description = attach.guestDescription
            let channelInterfaces = Array(description.interfaces.suffix(options.channelNICs))
            description.interfaces.removeLast(channelInterfaces.count)
            var boot = GuestBoot(
                image: image, networkArguments: plan.arguments, inheritedFDs: plan.inheritedFDs,
                guestDescription: try description.encoded(),
                probeTargets: targets.filter { !lab.probeTargets.suffix(channelInterfaces.count).contains($0) })
            var channel = ChannelDelivery(interfaces: channelInterfaces, socket: "\(lab.stateDirectory)/guest-channel.sock")
            if !channelInterfaces.isEmpty {
                boot.channelSocket = channel.socket
                boot.channelChanges = channelInterfaces.count
                boot.channelTargets = Array(lab.probeTargets.suffix(channelInterfaces.count))
            }
            boot.skipModules = options.skipModules
            boot.qemuBinary = options.qemuBinary
            boot.extraArguments = options.extraQemuArguments
            boot.timeoutSeconds = options.timeoutSeconds
            boot.cpus = options.vcpus
            boot.extraKernelArguments = options.extraKernelArguments
            if options.uploadBytes > 0 {
                boot.uploadPort = Lab.uploadPort
                boot.uploadBytes = options.uploadBytes
            }
            if let plan = options.dualStack { boot.pingTargets = [String(lab.probeTargets[0].split(separator: ":")[0]), plan.peerIPv6] }
            progress(.step("booting \(options.architecture.qemuBinary) -M \(options.architecture.machineType) -accel tcg"))
            let guest = try GuestRunner.run(boot) { p in
                progress(.guest(p))
                channel.observe(p) { progress(.step($0)) }
            }
            if let failure = channel.failure { throw failure }
            for target in targets {
                let address = String(target.split(separator: ":")[0])
                guard let r = guest.results.first(where: { $0.target == address }) else {
                    throw GuestLabError.missingResult(target: target)
                }
                guard r.token == lab.token else { throw GuestLabError.tokenMismatch(target: target, expected: lab.token, got: r.token) }
            }
            report = Report(
                architecture: options.architecture, machine: options.architecture.machineType, model: options.model,
                nics: options.nics, bootToNetworkSeconds: guest.bootToNetworkSeconds, results: guest.results,
                token: lab.token, checked: [], kept: options.keep ? lab : nil,
                channelLines: guest.console.filter { $0.contains("SANDNET-CHANNEL") }, guest: guest,
                guestDescription: attach.guestDescription, qemuArguments: plan.arguments)
            if options.keep { return report! }
            progress(.step("sandnet detach --sandbox \(sandbox)"))
            _ = try SandboxDetach.detach(sandbox: sandbox, store: store)
            attached = false
            let podAfter = try NamespaceFootprint(namespace: lab.podNamespace)
            if podAfter != podBefore {
                throw LabError.namespaceChanged(namespace: lab.podNamespace, before: podBefore.description, after: podAfter.description)
            }
        } catch {
            failure = error
        }
        if options.keep && failure == nil { return report! }
        // Teardown runs on success and failure alike; its own problems are reported too.
        progress(.step("tearing down: CNI DEL, namespaces, state"))
        var problems: [String] = []
        if attached {
            do { _ = try SandboxDetach.detach(sandbox: sandbox, store: store, force: true) } catch { problems.append("\(error)") }
        }
        problems += lab.teardown()
        problems += lab.leftovers()
        let machineAfter = try? NamespaceFootprint(namespace: nil)
        if let machineAfter, machineAfter != machineBefore {
            problems.append("the machine's namespace changed: before \(machineBefore.description), after \(machineAfter.description)")
        }
        lab.removeStateDirectory()
        // Leftovers outrank the run's own failure: a failed run must still leave nothing behind.
        if !problems.isEmpty { throw LabError.leftovers(problems + (failure.map { ["(after the run failed: \($0))"] } ?? [])) }
        if let failure { throw failure }
        report!.checked = [
            "namespaces \(lab.hostNamespace), \(lab.podNamespace), \(lab.peerNamespace) removed",
            "pod links, addresses, routes, qdiscs and classes identical before attach and after detach",
            "no CNI address allocations", "no sandnet journals", "peer web server stopped",
            "machine namespace links and qdiscs unchanged"
        ]
        return report!
    }
}

/// The parts of a namespace an attach may touch, normalised for comparison (not the whole
/// `ip -j`/`tc -j` dump KernelConformance's NamespaceSnapshot keeps): links (name,
/// kind, MAC, MTU, flags, master), addresses, routes, qdiscs.
struct NamespaceFootprint: Equatable, CustomStringConvertible {
    var links: [String]
    var addresses: [String]
    var routes: [String]
    var qdiscs: [String]
    /// htb classes per link (tc prints them as text only).
    var classes: [String]

    /// `namespace` nil: the machine's own namespace.
    init(namespace: String?) throws {
        let n = namespace.map { ["-n", $0] } ?? []
        func json(_ argv: [String]) throws -> [[String: Any]] {
            let text = try TestCommand.run(argv)
            guard let data = text.data(using: .utf8), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [] }
            return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
        }
        links = try json(["ip"] + n + ["-j", "-d", "link", "show"]).map { l in
            let kind = (l["linkinfo"] as? [String: Any])?["info_kind"] as? String ?? "-"
            let flags = (l["flags"] as? [String] ?? []).filter { $0 != "LOWER_UP" && $0 != "NO-CARRIER" }.joined(separator: ",")
            return "\(l["ifname"] ?? "?") \(kind) \(l["address"] ?? "-") mtu \(l["mtu"] ?? "-") <\(flags)> master \(l["master"] ?? "-")"
        }.sorted()
        addresses = try json(["ip"] + n + ["-j", "addr", "show"]).flatMap { l in
            (l["addr_info"] as? [[String: Any]] ?? []).compactMap { a -> String? in
                guard let local = a["local"] as? String, !local.hasPrefix("fe80:") else { return nil }
                return "\(l["ifname"] ?? "?") \(local)/\(a["prefixlen"] ?? "?")"
            }
        }.sorted()
        routes = try json(["ip"] + n + ["-j", "route", "show", "table", "all"]).compactMap { r in
            let dst = r["dst"] as? String ?? "?"
            if dst.hasPrefix("fe80:") || dst.hasPrefix("ff00:") || (r["type"] as? String) == "multicast" { return nil }
            return "\(r["type"] ?? "unicast") \(dst) via \(r["gateway"] ?? "-") dev \(r["dev"] ?? "-") table \(r["table"] ?? "main")"
        }.sorted()
        qdiscs = try json(["tc"] + n + ["-j", "qdisc", "show"]).map { q in
            "\(q["dev"] ?? "?") \(q["kind"] ?? "?") \(q["handle"] ?? "-") \(q["parent"] ?? "root")"
        }.sorted()
        // The pod's only: the machine's own links are others' business (and other runs').
        let links = namespace == nil ? [] : try json(["ip"] + n + ["-j", "link", "show"]).compactMap { $0["ifname"] as? String }
        classes = try links.flatMap { dev in
            try TestCommand.run(["tc"] + n + ["class", "show", "dev", dev]).split(separator: "\n").map { "\(dev) \($0)" }
        }.sorted()
    }

    /// Without the lines about `link` (nil: all): a link CNI deleted, and what went with it.
    func without(link: String?) -> NamespaceFootprint {
        guard let link else { return self }
        var s = self
        let mentions = { (line: String) in line.split(separator: " ").contains { $0 == link } }
        s.links.removeAll(where: mentions)
        s.addresses.removeAll(where: mentions)
        s.routes.removeAll(where: mentions)
        s.qdiscs.removeAll(where: mentions)
        s.classes.removeAll(where: mentions)
        return s
    }

    var description: String {
        "links [\(links.joined(separator: "; "))] addresses [\(addresses.joined(separator: "; "))] routes [\(routes.joined(separator: "; "))] qdiscs [\(qdiscs.joined(separator: "; "))] classes [\(classes.joined(separator: "; "))]"
    }
}
