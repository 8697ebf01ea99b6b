import CSandnetLinux
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
///
/// The hand-off never spins. Each CPU gets one worker pinned to it, made on first use;
/// a caller hands its job to the worker of the CPU it runs on, so waking the worker is a
/// local enqueue (no inter-processor interrupt, which costs tens of microseconds in a
/// VM). The caller then yields the CPU to it rather than sleeping, so the worker's "done"
/// wakes nobody: a sleeping caller's wake-up is often placed on an idle CPU, which is that
/// interrupt again (see `sandnet_handoff_wait_local` for the back-off when other tasks
/// share the CPU). When that worker is busy with another caller's job, an unpinned spare
/// is used, and the caller sleeps.
public final class NamespaceThreadPool: Sendable {
    public static let shared = NamespaceThreadPool()

    /// One pinned worker per CPU, by CPU number; grown as CPUs are seen (no sysfs read).
    private let perCPU = Mutex<[Slot]>([])
    private let spares = Mutex<[Worker]>([])
    /// Spare (unpinned) workers kept around for reuse; more may run at once, the extra
    /// ones exit when done.
    private let keepSpares = 4
    /// CPU numbers from this on get spares only (CPU_SETSIZE, what pinning can address).
    private static let cpuLimit = 1024
    /// The process's own network namespace, opened once (CLOEXEC) and kept for its lifetime.
    let homeFD: Int32

    private enum Slot {
        case none
        case idle(Worker)
        /// Lent to a caller; it comes back through `release`.
        case lent
    }

    public init() {
        homeFD = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)
    }

    deinit { if homeFD >= 0 { close(homeFD) } }

    /// Runs `body` on a worker thread inside the namespace open at `namespaceFD` and
    /// returns its result. Blocks the caller until the job is done. When setns refuses the
    /// descriptor with EINVAL, `explainInvalid` may say why (not a network namespace).
    /// `description` names the namespace in errors (only built when one is thrown).
    public func run<T>(
        in namespaceFD: Int32, description: @autoclosure () -> String, explainInvalid: ((Int32) -> NetlinkError?)? = nil,
        _ body: () throws -> T
    ) throws -> T {
        guard homeFD >= 0 else {
            throw NetlinkError.system(operation: "open the process's network namespace", object: "/proc/self/ns/net", errno: ENOENT)
        }
        let home = homeFD
        let worker = try acquire()
        // `body`, its result and `refused` cross to the worker and back without being
        // Sendable. Safe: this thread is blocked in `perform` from hand-over until the
        // worker posts `done`, so they are never touched by two threads at once (the
        // DispatchQueue.sync contract), and the wake-up orders the accesses.
        nonisolated(unsafe) var result: Result<T, Error>?
        nonisolated(unsafe) var refused: Int32 = 0 // errno of entering the namespace
        withoutActuallyEscaping(body) { escapable in
            nonisolated(unsafe) let job = escapable // see `result` above
            worker.perform {
                if sandnet_setns(namespaceFD, sandnet_clone_newnet()) != 0 {
                    refused = Glibc.errno
                    return true
                }
                result = Result { try job() }
                // Always switch back; if that fails the worker must die.
                return sandnet_setns(home, sandnet_clone_newnet()) == 0
            }
        }
        release(worker)
        if refused != 0 {
            let why = refused == EINVAL ? explainInvalid?(namespaceFD) : nil
            throw why ?? NetlinkError.system(operation: "enter network namespace", object: description(), errno: refused)
        }
        guard let outcome = result else {
            throw NetlinkError.system(
                operation: "start a namespace thread in the process's network namespace", object: description(), errno: EIO)
        }
        return try outcome.get()
    }

    /// The worker pinned to the caller's CPU when it is free (made on first use), else a spare.
    private func acquire() throws -> Worker {
        let cpu = Int(sandnet_current_cpu())
        enum Pick {
            case use(Worker)
            case make(cpu: Int)
            case spare
        }
        let pick = perCPU.withLock { slots -> Pick in
            guard cpu >= 0, cpu < Self.cpuLimit else { return .spare }
            if cpu >= slots.count { slots += [Slot](repeating: .none, count: cpu + 1 - slots.count) }
            switch slots[cpu] {
            case .idle(let w):
                slots[cpu] = .lent
                return .use(w)
            case .none:
                slots[cpu] = .lent
                return .make(cpu: cpu)
            case .lent: return .spare
            }
        }
        switch pick {
        case .use(let w): return w
        case .make(let cpu):
            do { return try Worker(home: homeFD, cpu: cpu) } catch {
                perCPU.withLock { $0[cpu] = .none }
                throw error
            }
        case .spare:
            if let w = spares.withLock({ $0.popLast() }) { return w }
            return try Worker(home: homeFD, cpu: nil)
        }
    }

    private func release(_ w: Worker) {
        if let cpu = w.cpu {
            // A poisoned worker has exited; the next caller on this CPU makes a new one.
            perCPU.withLock { $0[cpu] = w.poisoned ? .none : .idle(w) }
            return
        }
        if w.poisoned { return }
        let kept = spares.withLock { spares in
            guard spares.count < keepSpares else { return false }
            spares.append(w)
            return true
        }
        if !kept { w.stop() }
    }

    /// Number of idle workers kept for reuse, pinned and spare (for tests).
    public var idleWorkerCount: Int {
        let pinned = perCPU.withLock { slots in
            slots.reduce(0) {
                if case .idle = $1 { return $0 + 1 }
                return $0
            }
        }
        return pinned + spares.withLock { $0.count }
    }

    final class Worker: Sendable {
        /// The CPU this worker's slot is for (nil: a spare). It is pinned there when the
        /// process may run there; otherwise it only keeps the slot.
        let cpu: Int?
        let home: Int32
        /// Set when the thread could not get home; it runs nothing more.
        private let poisonedFlag = Atomic<Bool>(false)
        var poisoned: Bool { poisonedFlag.load(ordering: .acquiring) }
        /// The wake-up words and yield bookkeeping shared with C (`sandnet_handoff`), only
        /// touched through its functions; freed when the worker goes away, which is after the
        /// thread's last use (the thread holds it).
        nonisolated(unsafe) private let handoff: UnsafeMutablePointer<sandnet_handoff>
        /// Whether the thread is pinned to `cpu` (it is not when a cpuset leaves that CPU
        /// out); set once the thread has started.
        private let pinned = Atomic<Bool>(false)
        private let mailbox = Mutex<Mail>(.empty)

        /// What the mail word is about.
        private enum Mail {
            case empty
            /// Returns false if the thread could not get home.
            case job(@Sendable () -> Bool)
            case stop
        }

        /// Starts the thread; it moves home before its first job, and a thread that cannot
        /// get home is born poisoned and runs nothing.
        init(home: Int32, cpu: Int?) throws {
            self.cpu = cpu
            self.home = home
            handoff = .allocate(capacity: 1)
            handoff.initialize(to: sandnet_handoff())
            // The thread holds the worker strongly until its loop ends: the pool may drop
            // its reference (stop, poison) while the thread still reads these fields.
            let context = Unmanaged.passRetained(self).toOpaque()
            var pinnedThere: Int32 = 0
            let e = sandnet_start_thread(
                Int32(cpu ?? -1),
                { context in
                    Unmanaged<Worker>.fromOpaque(context!).takeRetainedValue().main()
                }, context, &pinnedThere)
            if e != 0 {
                Unmanaged<Worker>.fromOpaque(context).release()
                throw NetlinkError.system(operation: "start a namespace thread", object: nil, errno: e)
            }
            pinned.store(pinnedThere != 0, ordering: .relaxed) // read by callers after the pool's lock
        }

        deinit { handoff.deallocate() }

        private func main() {
            sandnet_name_thread("sandnet-netns")
            if !goHomeAtBirth() { poisonedFlag.store(true, ordering: .releasing) }
            loop()
        }

        /// A new thread starts in its creator's namespace, which is home unless the creator
        /// was a worker in the middle of a job (or a thread someone else moved). setns home
        /// settles it; it needs CAP_SYS_ADMIN, so when refused, being home already is as good:
        /// an unprivileged caller then gets EPERM from the real namespace switch, not a
        /// worker that was poisoned at birth.
        private func goHomeAtBirth() -> Bool {
            if sandnet_setns(home, sandnet_clone_newnet()) == 0 { return true }
            return Self.isIn(namespace: home)
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
            mailbox.withLock { $0 = .job(job) }
            sandnet_handoff_post_mail(handoff)
            // A worker pinned to this CPU gets it through a yield (with a back-off when other
            // tasks share the CPU); any other worker runs elsewhere, so just sleep.
            if let cpu, cpu == Int(sandnet_current_cpu()), pinned.load(ordering: .relaxed) {
                sandnet_handoff_wait_local(handoff)
            } else {
                sandnet_handoff_wait_done(handoff)
            }
        }

        func stop() {
            mailbox.withLock { $0 = .stop }
            sandnet_handoff_post_mail(handoff)
        }

        private func loop() {
            while true {
                sandnet_handoff_wait_mail(handoff)
                let start = sandnet_monotonic_ns()
                switch takeTurn() {
                case .nothing: continue
                case .stop: return
                case .ran(let ok):
                    if !ok { poisonedFlag.store(true, ordering: .releasing) }
                    sandnet_handoff_finish(handoff, sandnet_monotonic_ns() &- start)
                    if !ok || poisoned { return } // never reuse a thread stuck in a foreign namespace
                }
            }
        }

        private enum Turn {
            case nothing, stop
            case ran(ok: Bool)
        }

        /// Takes the mail and runs a job in it, unless poisoned. A separate function so
        /// that every reference to the job is gone before `done` is posted: the caller's
        /// withoutActuallyEscaping traps if the closure outlives it.
        private func takeTurn() -> Turn {
            let mail = mailbox.withLock { mail in
                defer { mail = .empty }
                return mail
            }
            switch mail {
            case .empty: return .nothing
            case .stop: return .stop
            case .job(let job): return poisoned ? .ran(ok: false) : .ran(ok: job())
            }
        }
    }
}
