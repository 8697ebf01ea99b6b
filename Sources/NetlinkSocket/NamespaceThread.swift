import CSandnetLinux
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs work inside another network namespace on a dedicated OS thread.
///
/// setns(2) changes the namespace of the calling *thread*, so it must never happen on
/// a Swift concurrency pool thread or any thread that runs other work. Each worker here
/// is a pthread of our own: it enters the target namespace, runs the job, and switches
/// back home. Home is the namespace of the process (its main thread), not of whichever
/// thread happened to create the worker: a worker started from inside a job would
/// otherwise call a foreign namespace home. A worker that cannot switch back marks
/// itself poisoned and exits; it is never handed another job.
public final class NamespaceThreadPool: Sendable {
    public static let shared = NamespaceThreadPool()

    private let idle = Mutex<[Worker]>([])
    /// Workers kept around for reuse; more may run at once, the extra ones exit when done.
    private let keepIdle = 4
    /// The process's own network namespace, opened once (CLOEXEC) and kept for its lifetime.
    let homeFD: Int32

    public init() {
        homeFD = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)
    }

    deinit { if homeFD >= 0 { close(homeFD) } }

    /// Runs `body` on a worker thread inside the namespace open at `namespaceFD` and
    /// returns its result. Blocks the caller until the job is done.
    public func run<T>(in namespaceFD: Int32, description: String, _ body: () throws -> T) throws -> T {
        guard homeFD >= 0 else {
            throw NetlinkError.system(operation: "open the process's network namespace", object: "/proc/self/ns/net", errno: ENOENT)
        }
        let home = homeFD
        let worker = acquire()
        // `body` and its result cross to the worker and back without being Sendable. Safe:
        // this thread is blocked in `perform` from hand-over until the worker signals
        // `done`, so they are never touched by two threads at once (the
        // DispatchQueue.sync contract), and the signal orders the accesses.
        nonisolated(unsafe) var result: Result<T, Error>?
        withoutActuallyEscaping(body) { escapable in
            nonisolated(unsafe) let job = escapable // see `result` above
            worker.perform {
                if sandnet_setns(namespaceFD, sandnet_clone_newnet()) != 0 {
                    result = .failure(NetlinkError.system(operation: "enter network namespace", object: description, errno: Glibc.errno))
                    return true
                }
                result = Result { try job() }
                // Always switch back; if that fails the worker must die.
                return sandnet_setns(home, sandnet_clone_newnet()) == 0
            }
        }
        release(worker)
        guard let outcome = result else {
            throw NetlinkError.system(operation: "enter network namespace", object: description, errno: EIO)
        }
        return try outcome.get()
    }

    private func acquire() -> Worker {
        idle.withLock { $0.popLast() } ?? Worker(home: homeFD)
    }

    private func release(_ w: Worker) {
        if w.poisoned { return }
        let kept = idle.withLock { idle in
            guard idle.count < keepIdle else { return false }
            idle.append(w)
            return true
        }
        if !kept { w.stop() }
    }

    /// Number of idle worker threads kept for reuse (for tests).
    public var idleWorkerCount: Int { idle.withLock { $0.count } }

    final class Worker: Sendable {
        /// Set when the thread could not get home; it runs nothing more.
        private let poisonedFlag = Atomic<Bool>(false)
        var poisoned: Bool { poisonedFlag.load(ordering: .acquiring) }
        private let wake = SpinThenBlockSignal()
        private let done = SpinThenBlockSignal()
        private let mailbox = Mutex<Mail>(.empty)

        /// What `wake` is about.
        private enum Mail {
            case empty
            /// Returns false if the thread could not get home.
            case job(@Sendable () -> Bool)
            case stop
        }

        /// Starts the thread and moves it home first; a thread that cannot get home is
        /// born poisoned and runs nothing.
        init(home: Int32) {
            let ready = DispatchSemaphore(value: 0)
            // The thread holds the worker strongly until its loop ends: the pool may drop
            // its reference (stop, poison) while the thread still reads these fields.
            let thread = Thread { [self] in
                // setns needs CAP_SYS_ADMIN even to go home, so only move when the thread
                // was born elsewhere; an unprivileged caller then gets EPERM from the
                // real namespace switch, not a worker that was poisoned at birth.
                if !Self.isIn(namespace: home), sandnet_setns(home, sandnet_clone_newnet()) != 0 {
                    self.poisonedFlag.store(true, ordering: .releasing)
                }
                ready.signal()
                self.loop()
            }
            thread.name = "sandnet-netns"
            thread.start()
            ready.wait()
        }

        /// Whether the calling thread is in the namespace open at `fd` (same device and inode).
        static func isIn(namespace fd: Int32) -> Bool {
            var mine = stat()
            var target = stat()
            guard stat("/proc/thread-self/ns/net", &mine) == 0, fstat(fd, &target) == 0 else { return false }
            return mine.st_dev == target.st_dev && mine.st_ino == target.st_ino
        }

        /// Runs `job` on the worker and waits for it; `job` returns false if the thread
        /// could not get home. A poisoned worker runs nothing, so the caller sees no result.
        func perform(_ job: @escaping @Sendable () -> Bool) {
            if poisoned {
                stop()
                return
            }
            mailbox.withLock { $0 = .job(job) }
            wake.signal()
            done.wait()
        }

        func stop() {
            mailbox.withLock { $0 = .stop }
            wake.signal()
        }

        private func loop() {
            while true {
                wake.wait()
                switch takeTurn() {
                case .nothing: continue
                case .stop: return
                case .ran(let ok):
                    if !ok { poisonedFlag.store(true, ordering: .releasing) }
                    done.signal()
                    if !ok { return } // never reuse a thread stuck in a foreign namespace
                }
            }
        }

        private enum Turn {
            case nothing, stop
            case ran(ok: Bool)
        }

        /// Takes the mail and runs a job in it. A separate function so that every reference
        /// to the job is gone before `done` is signalled: the caller's withoutActuallyEscaping
        /// traps if the closure outlives it.
        private func takeTurn() -> Turn {
            let mail = mailbox.withLock { mail in
                defer { mail = .empty }
                return mail
            }
            switch mail {
            case .empty: return .nothing
            case .stop: return .stop
            case .job(let job): return .ran(ok: job())
            }
        }
    }
}
