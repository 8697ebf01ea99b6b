import CNI
import Foundation
import ProcessRunner
import SandboxNetwork
import SandnetCore

#if canImport(Glibc)
    import Glibc
#endif

/// A second CNI network added to a running sandbox: the guest boots with one NIC and a
/// spare root port, `sandnet watch` (the product binary, run as a node would) follows the
/// pod namespace, CNI ADDs the second network once the guest listens on its channel, the
/// watcher plugs it and sends add-interface, the guest configures it and fetches this run's
/// token from the peer on it. Then detach and CNI DEL, and the pod is as CNI left it.
/// With `secondNetworkAtBoot` the guest boots with both networks' NICs instead, reaches both
/// peers, and the CNI DEL of the second makes the watcher hot-unplug a NIC the attach made.
public enum HotplugEndToEnd {
    public struct Report: Sendable {
        public var token: String
        public var results: [PeerProbeResult]
        public var channelLine: String?
        /// CNI ADD returned -> the guest acknowledged the channel's add-interface.
        public var addToConfigured: Duration?
        /// CNI ADD returned -> the guest reported the peer's token over the new NIC.
        public var addToReached: Duration?
        /// CNI DEL returned -> the guest saw the NIC leave.
        public var deleteToUnplugged: Duration?
        /// The guest's `unplugged` stage line.
        public var unpluggedLine: String?
        /// Plug records left in the journal after the watcher handled the DEL (none expected).
        public var pluggedAfterDelete: Int
        /// The states of the attach's NIC records then (`secondNetworkAtBoot`: eth1's `unplugged`).
        public var attachedNICStatesAfterDelete: [String] = []
        public var watcherLog: String
    }

    public static func run(
        architecture: Architecture, model: NetworkModel, sandnet: String, image: GuestImage, timeoutSeconds: Double = 300,
        secondNetworkAtBoot: Bool = false, progress: @escaping (String) -> Void = { _ in }
    ) throws -> Report {
        let lab = try Lab(nics: 2) { progress($0) }
        let store = JournalStore(directory: lab.journalDirectory)
        let sandbox = "sn-hp-\(lab.id)"
        let log = "\(lab.stateDirectory)/watch.log"
        var watcher: RunningProcess?
        var attached = false
        var outcome: Result<Report, Error>
        do {
            // The second network comes after boot: CNI DEL it from the pod now, ADD it back later.
            if !secondNetworkAtBoot { try lab.cni.delete(lab.networks[1], lab.podAttachment(1), previous: lab.podResults[1]) }
            // With it at boot, the pod ends without it: as CNI left it after the DEL.
            let second = lab.podAttachment(1).interfaceName
            let podBefore = try NamespaceFootprint(namespace: lab.podNamespace).without(link: secondNetworkAtBoot ? second : nil)
            let attach = try SandboxAttach.attach(
                AttachSettings(
                    sandbox: sandbox, namespace: lab.podNamespacePath, model: model, vcpus: 1, architecture: architecture, sparePorts: 1),
                store: store)
            attached = true
            defer { attach.closeDescriptors() }
            guard let plan = attach.plan else { throw LabError.invalidArgument("model \(model) gives QEMU no NICs") }
            let qmp = "\(lab.stateDirectory)/qmp.sock"
            let channel = "\(lab.stateDirectory)/guest-channel.sock"
            let targets = lab.probeTargets
            var boot = GuestBoot(
                image: image, networkArguments: plan.arguments, inheritedFDs: plan.inheritedFDs,
                guestDescription: try attach.guestDescription.encoded(), probeTargets: secondNetworkAtBoot ? targets : [targets[0]])
            boot.channelSocket = channel
            if !secondNetworkAtBoot {
                boot.channelChanges = 1
                boot.channelTargets = [targets[1]]
            }
            boot.channelAfterChanges = 1
            boot.extraArguments = ["-qmp", "unix:\(qmp),server=on,wait=off"]
            boot.timeoutSeconds = timeoutSeconds
            var added: ContinuousClock.Instant?
            var configured: Duration?
            var reached: Duration?
            var deleted: ContinuousClock.Instant?
            var unplugged: Duration?
            var unpluggedLine: String?
            var addFailure: Error?
            let secondPeer = String(targets[1].split(separator: ":")[0])
            let guest = try GuestRunner.run(boot) { p in
                switch p {
                case .stage(let s) where s.hasPrefix("channel listening") && watcher == nil:
                    progress("guest listens on its channel: starting sandnet watch, then CNI ADD of \(lab.networks[1].name)")
                    do {
                        let w = try ProcessRunner.spawn(
                            [
                                "/bin/sh", "-c", "exec \"$@\" 2>\(log)", "sh", sandnet, "watch", "--sandbox", sandbox, "--qmp", qmp,
                                "--guest-channel", channel, "--state-dir", lab.journalDirectory, "--model", model.rawValue,
                                "--settle-ms", "200", "--channel-timeout", "60", "--unplug-timeout", "60", "--log-level", "info"
                            ])
                        watcher = w
                        let deadline = ContinuousClock.now + .seconds(20)
                        while !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("watching"),
                            ContinuousClock.now < deadline,
                            w.isRunning
                        {
                            usleep(20_000)
                        }
                        if secondNetworkAtBoot {
                            // The guest has reached both peers: the second network goes, and its boot NIC with it.
                            try lab.cni.delete(lab.networks[1], lab.podAttachment(1), previous: lab.podResults[1])
                            deleted = ContinuousClock.now
                        } else {
                            _ = try lab.cni.add(lab.networks[1], lab.podAttachment(1))
                            added = ContinuousClock.now
                        }
                    } catch { addFailure = error }
                case .consoleLine(let l) where l.contains("SANDNET-CHANNEL op=add-interface") && configured == nil:
                    configured = added.map { ContinuousClock.now - $0 }
                case .result(let r) where r.target == secondPeer && !secondNetworkAtBoot:
                    reached = added.map { ContinuousClock.now - $0 }
                    // The guest reached the peer: now the CNI network goes, and the watcher must unplug it.
                    progress("guest reached the peer over eth1: CNI DEL of \(lab.networks[1].name)")
                    do {
                        try lab.cni.delete(lab.networks[1], lab.podAttachment(1))
                        deleted = ContinuousClock.now
                    } catch { addFailure = error }
                case .stage(let s) where s.hasPrefix("unplugged"):
                    unplugged = deleted.map { ContinuousClock.now - $0 }
                    unpluggedLine = s
                default: break
                }
            }
            if let addFailure { throw addFailure }
            let journalAfterDelete = (try? store.read(sandbox: sandbox)) ?? nil
            let pluggedAfterDelete = journalAfterDelete?.plugged?.count ?? 0
            let nicStates = (journalAfterDelete?.attachedNICs ?? []).map { "\($0.endpoint)=\($0.state.rawValue)" }
            if let w = watcher {
                _ = w.signal(SIGTERM)
                _ = try? w.wait(timeout: .seconds(15))
            }
            let watcherLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            for t in targets {
                let address = String(t.split(separator: ":")[0])
                guard let r = guest.results.first(where: { $0.target == address }) else {
                    throw LabError.command("the guest reported nothing for \(t); watcher log:\n\(watcherLog)")
                }
                guard r.token == lab.token else { throw GuestLabError.tokenMismatch(target: t, expected: lab.token, got: r.token) }
            }
            // QEMU is gone; detach undoes the rest (and a plug the watcher could not take back).
            _ = try SandboxDetach.detach(sandbox: sandbox, store: store)
            attached = false
            let podAfter = try NamespaceFootprint(namespace: lab.podNamespace).without(link: secondNetworkAtBoot ? second : nil)
            if podAfter != podBefore {
                throw LabError.namespaceChanged(namespace: lab.podNamespace, before: podBefore.description, after: podAfter.description)
            }
            outcome = .success(
                Report(
                    token: lab.token, results: guest.results, channelLine: guest.console.first { $0.contains("SANDNET-CHANNEL") },
                    addToConfigured: configured, addToReached: reached, deleteToUnplugged: unplugged, unpluggedLine: unpluggedLine,
                    pluggedAfterDelete: pluggedAfterDelete, attachedNICStatesAfterDelete: nicStates, watcherLog: watcherLog))
        } catch {
            outcome = .failure(error)
        }
        if let w = watcher, w.isRunning { _ = w.kill() }
        var problems: [String] = []
        if attached {
            do { _ = try SandboxDetach.detach(sandbox: sandbox, store: store, force: true) } catch { problems.append("\(error)") }
        }
        problems += lab.teardown()
        problems += lab.leftovers()
        lab.removeStateDirectory()
        if !problems.isEmpty { throw LabError.leftovers(problems) }
        return try outcome.get()
    }
}
