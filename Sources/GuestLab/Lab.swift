import CNI
import Foundation
import NetlinkSocket
import ProcessRunner
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The world a sandbox VM lives in, built the way a container runtime builds it: a "host"
/// namespace standing in for the machine (CNI's bridges live there, never in the real
/// machine's namespace), a pod namespace whose interfaces the CNI bridge plugin creates,
/// and a peer namespace on the same bridges serving this run's token over HTTP.
public final class Lab: Sendable {
    /// Short and unique: namespace and bridge names derive from it.
    public let id: String
    public let hostNamespace: String
    public let podNamespace: String
    public let peerNamespace: String
    public let networks: [BridgeNetwork]
    /// Fresh for every lab: the guest must fetch it from the peer and report it back.
    public let token: String
    /// Private state: host-local allocations, the peer's web root, sandnet's journals.
    public let stateDirectory: String
    /// What was made so far, in order, for teardown to undo; under one lock so the lab may
    /// be torn down from another task than the one that built it.
    private let made = Mutex(Made())

    private struct Made {
        var podResults: [CNIResult] = []
        var peerResults: [CNIResult] = []
        var httpd: RunningProcess?
        var receiver: RunningProcess?
        var namespaces: [String] = []
    }

    /// The CNI ADD results for the pod, in NIC order.
    public var podResults: [CNIResult] { made.withLock { $0.podResults } }
    /// The CNI ADD results for the peer, in NIC order.
    public var peerResults: [CNIResult] { made.withLock { $0.peerResults } }

    public static let peerPort = 8080
    /// Bytes the guest downloads to measure throughput.
    public static let blobSize = 4 << 20

    public var podNamespacePath: String { NetworkNamespace.named(podNamespace).path }
    public var cni: CNIPluginRunner { CNIPluginRunner(hostNamespace: hostNamespace) }
    public var journalDirectory: String { "\(stateDirectory)/journal" }
    /// A fresh lab id: this process's pid first (a second test run on the machine makes other
    /// ids), then a random part (labs of one process differ).
    public static func newID() -> String { String(format: "%04x%04x", UInt32(getpid()) & 0xffff, UInt32.random(in: 0...0xffff)) }

    /// The lab namespaces with this id that still exist (none once the lab is torn down).
    public static func namespacesLeft(id: String) -> [String] { NetworkNamespace.listNamed().filter { $0.hasPrefix("sn-lab-\(id)-") } }

    /// "ADDRESS:PORT" of the peer on every network, in NIC order.
    public var probeTargets: [String] {
        peerResults.enumerated().compactMap { i, r in r.addresses(on: "eth\(i)").first.map { "\($0.address):\(Self.peerPort)" } }
    }

    /// Creates the namespaces and `nics` CNI networks (at most 4), attaches pod and peer to
    /// each, and starts the peer's web server. Undoes everything if a step fails. `id` names
    /// the namespaces (`sn-lab-ID-…`; `Lab.newID()` when nil), so a caller can look for its own leftovers.
    public init(nics: Int, id: String? = nil, log: (String) -> Void = { _ in }) throws {
        guard (1...4).contains(nics) else { throw LabError.invalidArgument("--nics must be 1 to 4, not \(nics)") }
        let id = id ?? Self.newID()
        self.id = id
        hostNamespace = "sn-lab-\(id)-host"
        podNamespace = "sn-lab-\(id)-pod"
        peerNamespace = "sn-lab-\(id)-peer"
        token = (0..<4).map { _ in String(format: "%08x", UInt32.random(in: 0...UInt32.max)) }.joined()
        let stateDirectory = "/run/sandnet-lab/\(id)"
        self.stateDirectory = stateDirectory
        // Addresses only from the documentation ranges: two /24s, or four /25s for 3-4 NICs.
        let subnets =
            nics <= 2
            ? ["203.0.113.0/24", "198.51.100.0/24"]
            : ["203.0.113.0/25", "198.51.100.0/25", "203.0.113.128/25", "198.51.100.128/25"]
        let dataDir = "\(stateDirectory)/cni"
        networks = (0..<nics).map { i in
            BridgeNetwork(
                name: "sn-lab-\(id)-\(i)", bridge: "sn-br\(i)", subnet: subnets[i], dataDirectory: dataDir,
                routes: i == 0 ? ["0.0.0.0/0"] : [])
        }
        do {
            try FileManager.default.createDirectory(atPath: "\(stateDirectory)/www", withIntermediateDirectories: true)
            for ns in [hostNamespace, podNamespace, peerNamespace] {
                try NetworkNamespace.create(named: ns)
                made.withLock { $0.namespaces.append(ns) }
            }
            try TestCommand.run(["ip", "-n", hostNamespace, "link", "set", "lo", "up"])
            try TestCommand.run(["ip", "-n", peerNamespace, "link", "set", "lo", "up"])
            for (i, net) in networks.enumerated() {
                log("CNI ADD \(net.name) (\(net.subnet)) for the pod and the peer")
                let pod = try cni.add(net, podAttachment(i))
                made.withLock { $0.podResults.append(pod) }
                let peer = try cni.add(net, peerAttachment(i))
                made.withLock { $0.peerResults.append(peer) }
            }
            try startPeer()
        } catch {
            _ = teardown()
            throw error
        }
    }

    func podAttachment(_ i: Int) -> CNIAttachment {
        CNIAttachment(containerID: "sn-lab-\(id)-pod", namespacePath: podNamespacePath, interfaceName: "eth\(i)")
    }
    func peerAttachment(_ i: Int) -> CNIAttachment {
        CNIAttachment(containerID: "sn-lab-\(id)-peer", namespacePath: NetworkNamespace.named(peerNamespace).path, interfaceName: "eth\(i)")
    }

    /// busybox httpd in the peer namespace: /token is this run's token, /blob random bytes.
    private func startPeer() throws {
        let www = "\(stateDirectory)/www"
        try Data(token.utf8).write(to: URL(fileURLWithPath: "\(www)/token"))
        var blob = [UInt8](repeating: 0, count: Self.blobSize)
        for i in stride(from: 0, to: blob.count, by: 8) {
            withUnsafeBytes(of: UInt64.random(in: 0...UInt64.max)) { blob.replaceSubrange(i..<i + 8, with: $0) }
        }
        try Data(blob).write(to: URL(fileURLWithPath: "\(www)/blob"))
        let p = try ProcessRunner.spawn([
            "ip", "netns", "exec", peerNamespace, "busybox", "httpd", "-f", "-p", "\(Self.peerPort)", "-h", www
        ])
        made.withLock { $0.httpd = p }
        // Ready when it listens (no fixed sleep): poll the socket table of the peer namespace.
        for _ in 0..<100 {
            if let out = try? TestCommand.run(["ip", "netns", "exec", peerNamespace, "busybox", "netstat", "-ltn"]),
                out.contains(":\(Self.peerPort) ")
            {
                return
            }
            if let ended = p.termination { throw LabError.peer("busybox httpd \(ended)") }
            usleep(50_000)
        }
        throw LabError.peer("busybox httpd did not start listening on port \(Self.peerPort)")
    }

    /// TCP port of the peer's upload receiver (`startUploadReceiver`).
    public static let uploadPort = 9000

    /// busybox nc in the peer namespace, one shell per connection (-ll -e): it reads `bytes`
    /// bytes and answers "received", so the guest can time its upload end to end.
    public func startUploadReceiver(bytes: Int) throws {
        let script = "\(stateDirectory)/receive.sh"
        try Data("#!/bin/sh\nbusybox head -c \(bytes) >/dev/null\necho received\n".utf8).write(to: URL(fileURLWithPath: script))
        chmod(script, 0o755)
        let p = try ProcessRunner.spawn([
            "ip", "netns", "exec", peerNamespace, "busybox", "nc", "-ll", "-p", "\(Self.uploadPort)", "-e", script
        ])
        made.withLock { $0.receiver = p }
        for _ in 0..<100 {
            if let out = try? TestCommand.run(["ip", "netns", "exec", peerNamespace, "busybox", "netstat", "-ltn"]),
                out.contains(":\(Self.uploadPort) ")
            {
                return
            }
            if let ended = p.termination { throw LabError.peer("busybox nc -ll \(ended)") }
            usleep(50_000)
        }
        throw LabError.peer("busybox nc did not start listening on port \(Self.uploadPort)")
    }

    /// Stops the peer, releases every CNI attachment with DEL, removes the namespaces and
    /// the state directory. Returns what could not be undone (empty when all went well).
    public func teardown() -> [String] {
        var problems: [String] = []
        // Taken out whole: a second teardown finds nothing left to undo.
        let undo = made.withLock { m in
            let all = m
            m = Made()
            return all
        }
        // SIGKILL: the peer holds nothing that needs a graceful stop.
        undo.httpd?.kill()
        undo.receiver?.kill()
        for (i, net) in networks.enumerated() {
            if i < undo.peerResults.count {
                do { try cni.delete(net, peerAttachment(i), previous: undo.peerResults[i]) } catch { problems.append("\(error)") }
            }
            if i < undo.podResults.count {
                do { try cni.delete(net, podAttachment(i), previous: undo.podResults[i]) } catch { problems.append("\(error)") }
            }
        }
        for ns in undo.namespaces.reversed() {
            do { try NetworkNamespace.delete(named: ns) } catch { problems.append("\(error)") }
        }
        return problems
    }

    /// What this lab left behind, checked rather than assumed: namespaces, CNI address
    /// allocations, the peer process, journals, the state directory. Call after `teardown`.
    public func leftovers() -> [String] {
        var found: [String] = []
        let named = Set(NetworkNamespace.listNamed())
        for ns in [hostNamespace, podNamespace, peerNamespace] where named.contains(ns) { found.append("namespace \(ns)") }
        for net in networks { found += net.allocatedAddresses().map { "CNI allocation \($0) in \(net.name)" } }
        if let httpd = made.withLock({ $0.httpd }), httpd.isRunning { found.append("peer web server pid \(httpd.pid)") }
        if let r = made.withLock({ $0.receiver }), r.isRunning { found.append("peer upload receiver pid \(r.pid)") }
        let journals = (try? FileManager.default.contentsOfDirectory(atPath: "\(journalDirectory)/sandboxes")) ?? []
        found += journals.map { "sandnet journal \($0)" }
        return found
    }

    /// Removes the state directory (after `leftovers` looked into it).
    public func removeStateDirectory() {
        try? FileManager.default.removeItem(atPath: stateDirectory)
        if (try? FileManager.default.contentsOfDirectory(atPath: "/run/sandnet-lab"))?.isEmpty == true {
            try? FileManager.default.removeItem(atPath: "/run/sandnet-lab")
        }
    }
}

public enum LabError: Error, CustomStringConvertible, Sendable {
    case invalidArgument(String)
    case peer(String)
    case command(String)
    case leftovers([String])
    case namespaceChanged(namespace: String, before: String, after: String)

    public var description: String {
        switch self {
        case .invalidArgument(let r): return r
        case .peer(let r): return "the peer's web server failed: \(r)"
        case .command(let r): return r
        case .leftovers(let items): return "left behind after teardown: \(items.joined(separator: ", "))"
        case .namespaceChanged(let ns, let before, let after):
            return "\(ns) is not as it was before attach:\n  before: \(before)\n  after:  \(after)"
        }
    }
}

/// Runs iproute2 and busybox for the lab's own plumbing (namespaces are sandnet's; the
/// commands only start things inside them).
enum TestCommand {
    @discardableResult
    static func run(_ argv: [String]) throws -> String {
        let r = try ProcessRunner.run(argv, timeout: .seconds(60))
        guard r.succeeded else {
            throw LabError.command("`\(argv.joined(separator: " "))` \(r.termination): \(r.stderrText)")
        }
        return r.stdoutText
    }
}
