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
/// back to the namespace it started in. A worker that cannot switch back marks itself
/// poisoned and exits; it is never handed another job.
public final class NamespaceThreadPool: @unchecked Sendable {
    public static let shared = NamespaceThreadPool()

    private let lock = NSLock()
    private var idle: [Worker] = []
    /// Workers kept around for reuse; more may run at once, the extra ones exit when done.
    private let keepIdle = 4

    /// Runs `body` on a worker thread inside the namespace open at `namespaceFD` and
    /// returns its result. Blocks the caller until the job is done.
    public func run<T>(in namespaceFD: Int32, description: String, _ body: () throws -> T) throws -> T {
        let worker = acquire()
        var result: Result<T, Error>!
        withoutActuallyEscaping(body) { escapable in
            worker.perform {
                if sandnet_setns(namespaceFD, sandnet_clone_newnet()) != 0 {
                    result = .failure(NetlinkError.system(operation: "enter network namespace", object: description, errno: Glibc.errno))
                    return true
                }
                result = Result { try escapable() }
                // Always switch back; if that fails the worker must die.
                return sandnet_setns(worker.homeFD, sandnet_clone_newnet()) == 0
            }
        }
        release(worker)
        return try result.get()
    }

    private func acquire() -> Worker {
        lock.lock()
        if let w = idle.popLast() { lock.unlock(); return w }
        lock.unlock()
        return Worker()
    }

    private func release(_ w: Worker) {
        if w.poisoned { return }
        lock.lock()
        if idle.count < keepIdle { idle.append(w); lock.unlock() } else { lock.unlock(); w.stop() }
    }

    /// Number of worker threads alive right now (for tests).
    public var idleWorkerCount: Int { lock.lock(); defer { lock.unlock() }; return idle.count }

    final class Worker: @unchecked Sendable {
        /// The namespace this thread was born in, opened by the thread itself.
        private(set) var homeFD: Int32 = -1
        private(set) var poisoned = false
        private let wake = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)
        private var job: (() -> Bool)?
        private var stopping = false
        private var thread: Thread!

        init() {
            let ready = DispatchSemaphore(value: 0)
            thread = Thread { [unowned self] in
                self.homeFD = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
                ready.signal()
                self.loop()
            }
            thread.name = "sandnet-netns"
            thread.start()
            ready.wait()
        }

        /// Runs `job` on the worker; `job` returns false if the thread could not get home.
        func perform(_ job: @escaping () -> Bool) {
            self.job = job
            wake.signal()
            done.wait()
        }

        func stop() { stopping = true; wake.signal() }

        private func loop() {
            while true {
                wake.wait()
                if stopping { break }
                let ok = homeFD >= 0 && job!()
                job = nil
                if !ok { poisoned = true }
                done.signal()
                if poisoned { break }   // never reuse a thread stuck in a foreign namespace
            }
            if homeFD >= 0 { close(homeFD) }
        }
    }
}
