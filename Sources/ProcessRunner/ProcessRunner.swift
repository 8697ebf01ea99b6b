import CProcessRunner

#if canImport(Glibc)
    import Glibc
#endif

/// The one way the test lab, the tests and the benchmark start children (CNI plugins,
/// image builders, ip/tc, the sandnet binaries). QEMU is the exception: it is handed
/// exact descriptors by QemuWiring/GuestLab's own spawn.
///
/// Built on posix_spawn rather than swift-subprocess 1.0.2: that package is async-only,
/// and nearly every caller here is synchronous code run from Swift Testing's cooperative
/// pool (2 threads on the lab hosts), where blocking a pool thread on a semaphore until an
/// async run finishes can starve the very tasks that run would need. Here a run is one
/// poll(2) loop on the calling thread over the two output pipes and a pidfd: no helper
/// threads (the benchmark spawns thousands of `ip` children and times them), stdout and
/// stderr drained together so a chatty child never blocks, and the bound enforced by the
/// same poll.
public enum ProcessRunner {
    /// Runs `argv` (argv[0] looked up in the child's PATH) to its end and returns how it
    /// ended and its output. stdin is `input` (from a memfd, so writing never blocks), or
    /// /dev/null. If it has not ended, and closed its output, within `timeout`, it is sent
    /// SIGKILL, reaped, and `.timedOut` is thrown.
    public static func run(
        _ argv: [String], input: [UInt8]? = nil, environment: ChildEnvironment = .inherit,
        timeout: Duration = .seconds(120)
    ) throws(ProcessRunnerError) -> ProcessOutcome {
        let deadline = ContinuousClock.now + timeout
        var stdin = OwnedDescriptor(-1)
        if let input {
            let fd = input.withUnsafeBytes { process_runner_memfd($0.baseAddress, $0.count) }
            guard fd >= 0 else { throw .systemCall(operation: "memfd_create for stdin", argv: argv, errno: errno) }
            stdin = OwnedDescriptor(fd)
        }
        var out = try pipe(argv)
        var err = try pipe(argv)
        let child = try start(argv, environment: environment, stdin: stdin.raw, stdout: out.write.raw, stderr: err.write.raw)
        // Only the child's copies stay open: EOF on the pipes then means the child (and
        // anything it passed them to) is done writing.
        stdin.close()
        out.write.close()
        err.write.close()
        var drain = OutputDrain()
        let done = drain.collect(stdout: &out.read, stderr: &err.read, exit: child.pidfd.raw, until: deadline)
        guard done, let termination = child.reap() else {
            _ = child.killAndReap()
            throw .timedOut(argv: argv, after: timeout, stdout: drain.stdout, stderr: drain.stderr)
        }
        return ProcessOutcome(termination: termination, stdout: drain.stdout, stderr: drain.stderr)
    }

    /// Starts `argv` and returns at once, for a child a caller inspects while it runs (a
    /// stopped attach, a process living in a namespace, a server). Its stdin, stdout and
    /// stderr are /dev/null. The handle kills and reaps it when dropped.
    public static func spawn(_ argv: [String], environment: ChildEnvironment = .inherit) throws(ProcessRunnerError) -> RunningProcess {
        let child = try start(argv, environment: environment, stdin: -1, stdout: -1, stderr: -1)
        return RunningProcess(child, argv: argv)
    }

    static func start(
        _ argv: [String], environment: ChildEnvironment,
        stdin: Int32, stdout: Int32, stderr: Int32
    ) throws(ProcessRunnerError) -> Child {
        guard let name = argv.first else { throw .emptyCommand }
        let cArgv = argv.map { strdup($0) } + [nil]
        defer { for p in cArgv { free(p) } }
        var pid: pid_t = 0
        let rc: Int32
        if environment == .inherit {
            // This process's own environ as is: no copy per child (the benchmark spawns thousands).
            let path = try ExecutableLookup.resolve(name, path: getenv("PATH").map { String(cString: $0) })
            rc = process_runner_spawn(&pid, path, cArgv, environ, stdin, stdout, stderr)
        } else {
            let variables = environment.variables
            let path = try ExecutableLookup.resolve(name, path: variables["PATH"])
            let cEnv = variables.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
            defer { for p in cEnv { free(p) } }
            rc = process_runner_spawn(&pid, path, cArgv, cEnv, stdin, stdout, stderr)
        }
        guard rc == 0 else { throw .spawnFailed(argv: argv, errno: rc) }
        let pidfd = process_runner_pidfd_open(pid)
        guard pidfd >= 0 else {
            let e = errno
            // Without a pidfd there is no bounded wait: kill it now rather than leave it.
            Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            throw .systemCall(operation: "pidfd_open (Linux 5.3 or later)", argv: argv, errno: e)
        }
        return Child(pid: pid, pidfd: OwnedDescriptor(pidfd))
    }

    private struct PipeEnds: ~Copyable {
        var read: OwnedDescriptor
        var write: OwnedDescriptor
    }

    private static func pipe(_ argv: [String]) throws(ProcessRunnerError) -> PipeEnds {
        var fds: [Int32] = [-1, -1]
        guard process_runner_pipe(&fds) == 0 else { throw .systemCall(operation: "pipe2", argv: argv, errno: errno) }
        return PipeEnds(read: OwnedDescriptor(fds[0]), write: OwnedDescriptor(fds[1]))
    }
}
