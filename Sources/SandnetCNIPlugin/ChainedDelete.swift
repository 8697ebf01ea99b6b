import Foundation
import SandboxNetwork

/// DEL: undoes what ADD journaled, found by network, container id and interface name, so it
/// needs no prevResult and finishes an ADD that was killed midway. Nothing journaled: done.
enum ChainedDelete {
    static func run(_ request: CNIRequest) throws -> Data? {
        let store = JournalStore(directory: request.configuration.stateDirectory)
        try detach(request.key.sandbox, store: store)
        // A killed ADD can leave a temporary journal and lock files: nothing may stay behind.
        _ = store.sweepStaleFiles()
        return nil
    }

    static func detach(_ sandbox: String, store: JournalStore) throws {
        do {
            _ = try SandboxDetach.detach(sandbox: sandbox, store: store, lockWait: .seconds(10))
        } catch let e as SandboxError {
            switch e {
            case .notAttached: return
            case .busy, .ownerAlive, .queuesHeld: throw CNIFailure(.tryAgainLater, "\(e)")
            case .stateDirectory, .journalIO, .stateUnreadable: throw CNIFailure(.io, "\(e)")
            default: throw CNIFailure(.wiringFailed, "\(e)")
            }
        }
    }
}
