import Foundation
import SandboxNetwork

/// CHECK: the prevResult must hold the tap ADD returned, and every tap, qdisc and redirect
/// the journal records must still be as sandnet made it.
enum ChainedCheck {
    static func run(_ request: CNIRequest) throws -> Data? {
        let c = request.configuration
        guard let prev = c.prevResult else { throw CNIFailure(.invalidNetworkConfig, "CHECK needs prevResult (the result of ADD)") }
        let sandbox = request.key.sandbox
        let store = JournalStore(directory: c.stateDirectory)
        let journal: SandboxJournal?
        do { journal = try store.read(sandbox: sandbox) } catch { throw CNIFailure(.io, "\(error)") }
        guard let journal else {
            throw CNIFailure(
                .unknownContainer, "sandnet-cni has no wiring for container \(request.containerID) interface \(request.interfaceName)")
        }
        guard let pair = ChainedResult.tapPair(in: prev, containerID: request.containerID) else {
            throw CNIFailure(
                .invalidNetworkConfig,
                "prevResult has no tap and pseudo-interface for container \(request.containerID) (is it ADD's result?)")
        }
        let device = journal.summary?.endpoints.first { $0.name == request.interfaceName }?.device
        guard let name = pair.tap["name"] as? String, name == device else {
            throw CNIFailure(
                .wiringChanged, "prevResult names tap \(pair.tap["name"] ?? "none") but sandnet made \(device ?? "none")")
        }
        let problems: [String]
        do { problems = try SandboxVerification.problems(sandbox: sandbox, store: store) } catch { throw CNIFailure(.io, "\(error)") }
        guard problems.isEmpty else {
            throw CNIFailure(
                .wiringChanged, "the wiring of \(request.interfaceName) to \(name) changed: \(problems.joined(separator: "; "))")
        }
        return nil
    }
}
