import ArgumentParser
import HostCheck
import QemuWiring
import SandboxNetwork
import TrafficControl

/// The queue and bandwidth options of `sandnet attach`, and the Kata configuration they
/// may come from. A flag wins over the Kata setting; a per-endpoint flag over both.
struct AttachTuningOptions: ParsableArguments {
    @Option(help: "Queue pairs per NIC, independent of --vcpus (default: one per vCPU).") var queues: Int?
    @Option(name: .customLong("endpoint-queues"), help: "Per-endpoint queue pairs NAME=N (repeatable).")
    var endpointQueues: [String] = []
    @Option(name: .customLong("rx-rate"), help: "Cap what every endpoint's guest NIC receives, as tc writes rates (50mbit).")
    var rxRate: String?
    @Option(name: .customLong("tx-rate"), help: "Cap what every endpoint's guest NIC transmits (50mbit).")
    var txRate: String?
    @Option(name: .customLong("endpoint-rx-rate"), help: "Per-endpoint receive cap NAME=RATE (repeatable).")
    var endpointRxRates: [String] = []
    @Option(name: .customLong("endpoint-tx-rate"), help: "Per-endpoint transmit cap NAME=RATE (repeatable).")
    var endpointTxRates: [String] = []
    @Option(
        name: .customLong("kata-config"),
        help: "Take network_queues and rx/tx_rate_limiter_max_rate from this Kata configuration.toml.")
    var kataConfig: String?

    func validate() throws {
        if let q = queues, !QueueLayout.allowedQueues.contains(q) {
            throw ValidationError("--queues must be 1 to \(QueueLayout.maximumQueues), not \(q)")
        }
        _ = try perEndpointQueues()
        for (flag, rate) in [("--rx-rate", rxRate), ("--tx-rate", txRate)] { if let rate { _ = try Self.rate(rate, flag: flag) } }
        _ = try perEndpointRates(endpointRxRates, flag: "--endpoint-rx-rate")
        _ = try perEndpointRates(endpointTxRates, flag: "--endpoint-tx-rate")
    }

    /// Puts the queue counts and caps into `settings`.
    func apply(to settings: inout AttachSettings) throws {
        var kata: KataSettings?
        if let kataConfig {
            let k = try KataSettings.load(path: kataConfig)
            if let problem = k.problems.first(where: { $0.contains("network_queues") || $0.contains("rate_limiter") }) {
                throw ValidationError("--kata-config \(kataConfig): \(problem); nothing was changed")
            }
            kata = k
        }
        settings.queues = queues ?? kata?.networkQueues
        settings.endpointQueues = try perEndpointQueues()
        settings.rateLimit = RateLimit(
            receive: try rxRate.map { try Self.rate($0, flag: "--rx-rate") } ?? kata?.rxRateLimiterMaxRate,
            transmit: try txRate.map { try Self.rate($0, flag: "--tx-rate") } ?? kata?.txRateLimiterMaxRate)
        var perEndpoint: [String: RateLimit] = [:]
        for (name, r) in try perEndpointRates(endpointRxRates, flag: "--endpoint-rx-rate") {
            perEndpoint[name, default: RateLimit()].receive = r
        }
        for (name, r) in try perEndpointRates(endpointTxRates, flag: "--endpoint-tx-rate") {
            perEndpoint[name, default: RateLimit()].transmit = r
        }
        settings.endpointRateLimits = perEndpoint
    }

    private func perEndpointQueues() throws -> [String: Int] {
        var out: [String: Int] = [:]
        for o in endpointQueues {
            let p = o.split(separator: "=", maxSplits: 1)
            guard p.count == 2, let n = Int(p[1]), QueueLayout.allowedQueues.contains(n) else {
                throw ValidationError("--endpoint-queues takes NAME=N with N from 1 to \(QueueLayout.maximumQueues), not \(o)")
            }
            out[String(p[0])] = n
        }
        return out
    }

    private func perEndpointRates(_ list: [String], flag: String) throws -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for o in list {
            let p = o.split(separator: "=", maxSplits: 1)
            guard p.count == 2 else { throw ValidationError("\(flag) takes NAME=RATE (eth0=50mbit), not \(o)") }
            out[String(p[0])] = try Self.rate(String(p[1]), flag: flag)
        }
        return out
    }

    private static func rate(_ text: String, flag: String) throws -> UInt64 {
        guard let r = TcRate.bitsPerSecond(text) else {
            throw ValidationError("\(flag) \(text) is not a rate: write it as tc does, e.g. 50mbit, 1gbit, 6mbps (bytes), 512kibit")
        }
        return r
    }
}
