import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// What gc removes besides journals: files only a dead process needed.
extension JournalStore {
    /// Removes temporary journals whose writer is gone, lock files of sandboxes without a
    /// journal (and namespace locks nobody holds), and device nodes sandnet made (in
    /// `dev/`) that no journal lists. Only files of sandnet's own names and kinds are
    /// touched; a file held by a live process is left. Returns what it could not do.
    func sweep(logger: Logger) -> [String] {
        var errors: [String] = []
        do {
            guard let state = try stateDirectory(create: false) else { return [] }
            // Sandboxes with a journal, readable or not: their lock files stay.
            var live: Set<String> = []
            if let journals = try state.subdirectory("sandboxes", create: false) {
                live = Set(try Self.names(in: journals).filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) })
                for name in try Self.names(in: journals) {
                    guard let r = name.range(of: ".json.tmp.") else { continue }
                    let id = String(name[..<r.lowerBound])
                    guard (try? Self.validate(sandbox: id)) != nil else { continue }
                    // A writer of ID's journal holds ID's lock: a temp file found under it is a dead writer's.
                    let gone = removeUnderLock("sandbox-\(id).lock", in: state, &errors) {
                        Self.removeFile(name, in: journals, kinds: [S_IFREG, S_IFLNK])
                    }
                    if gone {
                        logger.notice(
                            "file swept", metadata: ["file": "\(journals.path)/\(name)", "reason": "temporary journal of a dead writer"])
                    }
                }
            }
            for name in try Self.names(in: state) where name.hasSuffix(".lock") {
                if name.hasPrefix("sandbox-"), live.contains(String(name.dropFirst(8).dropLast(5))) { continue }
                guard name.hasPrefix("sandbox-") || name.hasPrefix("netns-") else { continue }
                let gone = removeUnderLock(name, in: state, &errors) { Self.removeFile(name, in: state, kinds: [S_IFREG]) }
                if gone { logger.notice("file swept", metadata: ["file": "\(state.path)/\(name)", "reason": "lock file nobody holds"]) }
            }
            if let dev = try state.subdirectory("dev", create: false) {
                for name in try Self.names(in: dev) where name.hasPrefix("tap") {
                    // An attach journals a node's name before making it; the journals are
                    // read again here so one that started during this sweep is seen.
                    let listed = Set(try listSandboxes().compactMap { try? read(sandbox: $0) }.flatMap { $0.deviceNodes ?? [] })
                    if !listed.contains(name), Self.removeFile(name, in: dev, kinds: [S_IFCHR]) {
                        logger.notice("file swept", metadata: ["file": "\(dev.path)/\(name)", "reason": "device node no journal lists"])
                    }
                }
            }
        } catch {
            logger.notice("sweep stopped", metadata: ["reason": "\(error)"])
            errors.append("\(error)")
        }
        return errors
    }

    /// Runs `remove` holding lock `name` when nobody else holds it; false when busy or
    /// when the lock file is not to be trusted (added to `errors`; the sweep goes on).
    private func removeUnderLock(
        _ name: String, in state: borrowing TrustedDirectory, _ errors: inout [String],
        _ remove: () -> Bool
    ) -> Bool {
        let outcome: LockFile.Outcome
        do { outcome = try LockFile.acquire(name, in: state, waiting: .zero) } catch {
            errors.append("\(error)")
            return false
        }
        switch consume outcome {
        case .busy: return false
        case .locked(let lock):
            let removed = remove()
            lock.release()
            return removed
        }
    }

    /// Unlinks `name` in `dir` if it is of one of `kinds`. Never follows a symlink.
    static func removeFile(_ name: String, in dir: borrowing TrustedDirectory, kinds: Set<mode_t>) -> Bool {
        var st = stat()
        guard fstatat(dir.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, kinds.contains(st.st_mode & S_IFMT) else { return false }
        return unlinkat(dir.fd, name, 0) == 0
    }

    /// Removes the device nodes `names` from `dev/` (an undone sandbox's; missing ones are fine).
    func removeDeviceNodes(_ names: [String]) throws {
        guard !names.isEmpty, let state = try stateDirectory(create: false), let dev = try state.subdirectory("dev", create: false) else {
            return
        }
        for name in names where !name.contains("/") { _ = Self.removeFile(name, in: dev, kinds: [S_IFCHR]) }
    }

    /// `dev/` of the state directory, checked, for device nodes of a `/dev/tapN` clash.
    func deviceNodeDirectory() throws -> String {
        guard let state = try stateDirectory(create: true), let dev = try state.subdirectory("dev", create: true) else {
            throw SandboxError.stateDirectory("\(directory)/dev", errno: ENOENT)
        }
        return dev.path
    }
}

extension JournalStore {
    /// The file part of gc alone: temporary journals of dead writers, lock files nobody holds,
    /// unlisted device nodes. Undoes no sandbox (a CNI DEL or GC sweeps after its own undo).
    public func sweepStaleFiles(logger: Logger = SandboxLogging.silent) -> [String] { sweep(logger: logger) }
}
