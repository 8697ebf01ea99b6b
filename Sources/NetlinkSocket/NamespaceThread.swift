import CSandnetLinux
import Foundation
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
public final class NamespaceThreadPool: @unchecked Sendable {
    public static let shared = NamespaceThreadPool()

    private let lock = NSLock()
    private var idle: [Worker] = []
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
        let worker = acquire()
        var result: Result<T, Error>?
        withoutActuallyEscaping(body) { escapable in
            worker.perform {
                if sandnet_setns(namespaceFD, sandnet_clone_newnet()) != 0 {
                    result = .failure(NetlinkError.system(operation: "enter network namespace", object: description, errno: Glibc.errno))
                    return true
                }
                result = Result { try escapable() }
                // Always switch back; if that fails the worker must die.
                return sandnet_setns(self.homeFD, sandnet_clone_newnet()) == 0
            }
        }
        release(worker)
        guard let result else {
            throw NetlinkError.system(operation: "enter network namespace", object: description, errno: EIO)
        }
        return try result.get()
    }

    private func acquire() -> Worker {
        lock.lock()
        if let w = idle.popLast() { lock.unlock(); return w }
        lock.unlock()
        return Worker(home: homeFD)
    }

    private func release(_ w: Worker) {
        if w.poisoned { return }
        lock.lock()
        if idle.count < keepIdle { idle.append(w); lock.unlock() } else { lock.unlock(); w.stop() }
    }

    /// Number of idle worker threads kept for reuse (for tests).
    public var idleWorkerCount: Int { lock.lock(); defer { lock.unlock() }; return idle.count }

    final class Worker: @unchecked Sendable {
        private(set) var poisoned = false
        private let wake = SpinThenBlockSignal()
        private let done = SpinThenBlockSignal()
        private var job: (() -> Bool)?
        private var stopping = false

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
                if !Self.isIn(namespace: home) {
                    self.poisoned = sandnet_setns(home, sandnet_clone_newnet()) != 0
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
            var mine = stat(), target = stat()
            guard stat("/proc/thread-self/ns/net", &mine) == 0, fstat(fd, &target) == 0 else { return false }
            return mine.st_dev == target.st_dev && mine.st_ino == target.st_ino
        }

        /// Runs `job` on the worker; `job` returns false if the thread could not get home.
        /// A poisoned worker runs nothing, so the caller sees no result.
        func perform(_ job: @escaping () -> Bool) {
            if poisoned { stop(); return }
            self.job = job
            wake.signal()
            done.wait()
        }

        func stop() { stopping = true; wake.signal() }

        private func loop() {
            while true {
                wake.wait()
                if stopping { return }
                let ok = job!()
                job = nil
                if !ok { poisoned = true }
                done.signal()
                if !ok { return }   // never reuse a thread stuck in a foreign namespace
            }
        }
    }
}
