import Foundation
import NetlinkSocket
import QemuWiring
import SandboxNetwork
import SandnetCLI
import SandnetCore
import TestSupport
import Testing

/// Whether this kernel makes ifb devices (module ifb): the receive limit of macvtap and the
/// transmit limit of none go through one. The kernel lab runs these tests where it does.
enum IfbProbe {
    static let unavailableReason: String? = {
        guard TestEnvironment.isRoot else { return "needs root: creates network namespaces" }
        do {
            try TestNamespace.with(prefix: "snifb") { ns in _ = try ns.ip("link", "add", "ifbprobe", "type", "ifb") }
            return nil
        } catch {
            return "this kernel cannot create ifb links (CONFIG_IFB, module ifb): \(error)"
        }
    }()
}

extension SandboxIntegration {
    /// Queue counts apart from vCPUs, and rate limits as htb, against the real kernel; after
    /// detach the pod is what it was (`ip -j -d`, `tc -j -d qdisc`, and no class left).
    @Suite(.serialized, .enabled(if: TestEnvironment.isRoot, "needs root: creates network namespaces"))
    struct QueueAndRateTests {
        struct QueueCase: CustomStringConvertible, Sendable {
            var model: NetworkModel
            var vcpus: Int
            var queues: Int?
            var override: Int?
            var expected: Int { override ?? queues ?? vcpus }
            var description: String {
                "\(model) vcpus=\(vcpus) queues=\(queues.map(String.init) ?? "-") eth0=\(override.map(String.init) ?? "-")"
            }
        }
        static let queueCases: [QueueCase] = NetworkModel.allCases.flatMap { m in
            [
                QueueCase(model: m, vcpus: 1, queues: 4), QueueCase(model: m, vcpus: 4, queues: 4),
                QueueCase(model: m, vcpus: 4, queues: nil),
                QueueCase(model: m, vcpus: 1, queues: 2, override: 8)
            ]
        }

        /// Queue descriptors, vhost descriptors, `fds=`, `vhostfds=` and `vectors=` agree for every model.
        @Test(arguments: queueCases)
        func queueDescriptorsVhostAndVectorsAgree(_ c: QueueCase) throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                var s = AttachSettings(sandbox: "q1", namespace: f.pod.namespace.path, model: c.model, vcpus: c.vcpus)
                s.queues = c.queues
                if let o = c.override { s.endpointQueues = ["eth0": o] }
                let before = try f.snapshot()
                let r = try SandboxAttach.attach(s, store: store)
                defer { r.closeDescriptors() }
                if c.model == .none {
                    #expect(r.plan == nil && r.summary.endpoints[0].queues == 0)
                } else {
                    let p = try #require(r.plan?.placements.first)
                    let vhost = FileManager.default.fileExists(atPath: "/dev/vhost-net")
                    let layout = try QueueLayout(queues: c.expected, vhost: vhost)
                    #expect(p.nic.queueFDs.count == layout.queueDescriptors)
                    #expect(p.nic.vhostFDs.count == layout.vhostDescriptors)
                    #expect(p.nic.layout == layout)
                    #expect(r.summary.endpoints[0].queues == c.expected)
                    let args = r.summary.qemuArguments.joined(separator: " ")
                    #expect(args.contains("fds=\(p.nic.queueFDs.map(String.init).joined(separator: ":"))"))
                    #expect(args.contains("vectors=\(2 * c.expected + 2),"), "\(args)")
                    if vhost { #expect(args.contains("vhostfds=\(p.nic.vhostFDs.map(String.init).joined(separator: ":"))")) }
                    for fd in p.nic.queueFDs + p.nic.vhostFDs { #expect(fcntl(fd, F_GETFD) >= 0) }
                }
                r.closeDescriptors()
                _ = try SandboxDetach.detach(sandbox: "q1", store: store)
                #expect(try f.snapshot() == before)
            }
        }

        @Test func queueCountOutsideOneTo256IsRefusedBeforeAnyChange() throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                var s = AttachSettings(sandbox: "q2", namespace: f.pod.namespace.path, model: .tcfilter)
                s.endpointQueues = ["eth0": 257]
                let before = try f.snapshot()
                #expect(throws: SandboxError.self) { try SandboxAttach.attach(s, store: JournalStore(directory: state.path)) }
                s.endpointQueues = ["eth9": 2]
                do {
                    _ = try SandboxAttach.attach(s, store: JournalStore(directory: state.path))
                    Issue.record("an override for a link that is not there was taken")
                } catch { #expect("\(error)".contains("eth9") && "\(error)".contains("nothing was changed"), "\(error)") }
                #expect(try f.snapshot() == before)
            }
        }

        /// tcfilter: htb 534e: with class 534e:1 on the tap (what the guest receives) and on
        /// the endpoint (what it transmits), rates as given; detach leaves no qdisc or class.
        @Test func tcfilterRateLimitsAreHtbOnTapAndEndpointAndDetachRemovesThem() throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                var s = AttachSettings(sandbox: "r1", namespace: f.pod.namespace.path, model: .tcfilter, vcpus: 1)
                s.queues = 2
                s.rateLimit = RateLimit(receive: 50_000_000, transmit: 20_000_000)
                let before = try f.snapshot()
                let r = try SandboxAttach.attach(s, store: store)
                r.closeDescriptors()
                let tap = try #require(r.summary.endpoints[0].device)
                for (dev, rate) in [(tap, 50_000_000), ("eth0", 20_000_000)] {
                    let root = try f.pod.tcJSON("qdisc", "show", "dev", dev).first { $0["root"] as? Bool == true }
                    #expect(
                        root?["kind"] as? String == "htb" && root?["handle"] as? String == "534e:", "\(dev): \(String(describing: root))")
                    // tc prints htb classes as text only (no -j for them).
                    let classes = try f.pod.tc("class", "show", "dev", dev).split(separator: "\n")
                    #expect(classes.count == 1)
                    let mbit = rate / 1_000_000
                    #expect(
                        classes.first?.hasPrefix("class htb 534e:1 root prio 0 rate \(mbit)Mbit ceil \(mbit)Mbit") == true, "\(classes)")
                }
                let steps = try #require(try store.read(sandbox: "r1")).steps
                #expect(steps.filter { if case .addRateQdisc(_, _, _, true) = $0 { true } else { false } }.count == 2)
                #expect(steps.filter { if case .addRateClass(_, _, _, _, true) = $0 { true } else { false } }.count == 2)
                _ = try SandboxDetach.detach(sandbox: "r1", store: store)
                #expect(try f.pod.tc("class", "show", "dev", "eth0").isEmpty)
                #expect(try f.snapshot() == before)
            }
        }

        /// A class whose rate another tool changed is not sandnet's to delete: left, named, journal kept.
        @Test func rateClassChangedByAnotherToolIsLeftInPlace() throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                var s = AttachSettings(sandbox: "r2", namespace: f.pod.namespace.path, model: .tcfilter)
                s.rateLimit = RateLimit(transmit: 10_000_000)
                let r = try SandboxAttach.attach(s, store: store)
                r.closeDescriptors()
                try f.pod.tc("class", "change", "dev", "eth0", "parent", "534e:", "classid", "534e:1", "htb", "rate", "30mbit")
                do {
                    _ = try SandboxDetach.detach(sandbox: "r2", store: store)
                    Issue.record("detach deleted a class another tool changed")
                } catch {
                    #expect("\(error)".contains("534e:1") && "\(error)".contains("30Mbit"), "\(error)")
                }
                #expect(try f.pod.tc("class", "show", "dev", "eth0").contains("534e:1"))
                #expect(try f.pod.tcJSON("qdisc", "show", "dev", "eth0").contains { $0["kind"] as? String == "htb" })
                #expect(try store.read(sandbox: "r2") != nil)
                try f.pod.tc("qdisc", "del", "dev", "eth0", "root")
                _ = try? SandboxDetach.detach(sandbox: "r2", store: store, force: true)
            }
        }

        /// An endpoint whose root qdisc someone chose is refused before the first change.
        @Test func transmitLimitOnEndpointWithForeignRootQdiscIsRefused() throws {
            try PodFixture.withEndpoint { f in
                try f.pod.tc("qdisc", "add", "dev", "eth0", "root", "handle", "7:", "pfifo")
                let before = try f.snapshot()
                let state = StateDirectory()
                var s = AttachSettings(sandbox: "r3", namespace: f.pod.namespace.path, model: .tcfilter)
                s.rateLimit = RateLimit(transmit: 10_000_000)
                do {
                    _ = try SandboxAttach.attach(s, store: JournalStore(directory: state.path))
                    Issue.record("a foreign root qdisc was replaced")
                } catch { #expect("\(error)".contains("pfifo 7:"), "\(error)") }
                #expect(try f.snapshot() == before)
            }
        }

        /// macvtap: transmit as htb on the macvtap, receive through the sandbox's ifb. Needs
        /// ifb (the kernel lab runs it); detach leaves no ifb, qdisc or class.
        @Test(.enabled(if: IfbProbe.unavailableReason == nil, "\(IfbProbe.unavailableReason ?? "")"))
        func macvtapRateLimitsUseTheSandboxesOwnIfb() throws { try ifbCase(.macvtap, RateLimit(receive: 40_000_000, transmit: 30_000_000)) }

        /// none: receive as htb on the endpoint, transmit through the sandbox's ifb (kernel lab).
        @Test(.enabled(if: IfbProbe.unavailableReason == nil, "\(IfbProbe.unavailableReason ?? "")"))
        func noneRateLimitsUseTheSandboxesOwnIfb() throws { try ifbCase(.none, RateLimit(receive: 40_000_000, transmit: 30_000_000)) }

        func ifbCase(_ model: NetworkModel, _ limit: RateLimit) throws {
            try PodFixture.withEndpoint { f in
                let state = StateDirectory()
                let store = JournalStore(directory: state.path)
                var s = AttachSettings(sandbox: "r4", namespace: f.pod.namespace.path, model: model)
                s.rateLimit = limit
                let before = try f.snapshot()
                let r = try SandboxAttach.attach(s, store: store)
                r.closeDescriptors()
                let ifbs = try f.pod.ipJSON("-d", "link", "show", "type", "ifb")
                #expect(ifbs.count == 1)
                let ifb = try #require(ifbs.first?["ifname"] as? String)
                #expect(ifb == "sn\(r.summary.linkGroup - SandboxLinkGroup.base)i0")
                #expect(ifbs.first?["group"] as? String == "\(r.summary.linkGroup)")
                let ingressOn = model == .macvtap ? try #require(r.summary.endpoints[0].device) : "eth0"
                let action = try f.pod.tcJSON("filter", "show", "dev", ingressOn, "ingress")
                    .compactMap { ($0["options"] as? [String: Any])?["actions"] as? [[String: Any]] }.first?.first
                #expect(action?["to_dev"] as? String == ifb)
                let shaped =
                    model == .macvtap
                    ? [(ifb, limit.receive!), (ingressOn, limit.transmit!)] : [(ifb, limit.transmit!), ("eth0", limit.receive!)]
                for (dev, rate) in shaped {
                    let c = try f.pod.tc("class", "show", "dev", dev)
                    #expect(c.contains("class htb 534e:1 root prio 0 rate \(rate / 1_000_000)Mbit"), "\(dev): \(c)")
                }
                _ = try SandboxDetach.detach(sandbox: "r4", store: store)
                #expect(try f.pod.ip("link", "show", "type", "ifb").isEmpty)
                #expect(try f.snapshot() == before)
            }
        }
    }
}

extension SandboxIntegration.QueueAndRateTests {
    /// `sandnet attach` flags over a Kata configuration: --endpoint-queues beats network_queues,
    /// --rx-rate beats rx_rate_limiter_max_rate, tx_rate_limiter_max_rate applies as it is.
    @Test func attachFlagsOverKataConfiguration() throws {
        try PodFixture.withEndpoint { f in
            let state = StateDirectory()
            let kata = state.path + ".toml"
            defer { try? FileManager.default.removeItem(atPath: kata) }
            try Data(
                """
                [hypervisor.qemu]
                network_queues = 3
                rx_rate_limiter_max_rate = 10000000
                tx_rate_limiter_max_rate = 20000000
                [runtime]
                internetworking_model = "tcfilter"

                """.utf8
            ).write(to: URL(fileURLWithPath: kata))
            let before = try f.snapshot()
            let o = try AttachOptions.parse([
                "--netns", f.pod.namespace.path, "--sandbox", "cli", "--state-dir", state.path, "--kata-config", kata,
                "--endpoint-queues", "eth0=2", "--rx-rate", "40mbit", "--json"
            ])
            try o.run()
            let store = JournalStore(directory: state.path)
            let summary = try #require(try store.read(sandbox: "cli")?.summary)
            #expect(summary.endpoints.first?.queues == 2)
            #expect(summary.endpoints.first?.rateLimit == RateLimit(receive: 40_000_000, transmit: 20_000_000))
            #expect(summary.qemuArguments.contains { $0.contains("vectors=6,") })
            let tap = try #require(summary.endpoints.first?.device)
            #expect(try f.pod.tc("class", "show", "dev", tap).contains("rate 40Mbit ceil 40Mbit"))
            #expect(try f.pod.tc("class", "show", "dev", "eth0").contains("rate 20Mbit ceil 20Mbit"))
            _ = try SandboxDetach.detach(sandbox: "cli", store: store)
            #expect(try f.snapshot() == before)
            #expect(throws: (any Error).self) {
                _ = try AttachOptions.parse(["--netns", f.pod.namespace.path, "--sandbox", "cli", "--tx-rate", "50xbit"])
            }
        }
    }
}
