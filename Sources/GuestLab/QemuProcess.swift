import Foundation

#if canImport(Glibc)
    import Glibc
    import CSandnetLinux
#endif

/// A QEMU child started with posix_spawn: stdin /dev/null, stdout (the serial console)
/// and stderr on pipes, and exactly the given descriptors inherited (everything sandnet
/// opens is CLOEXEC; the spawn clears that flag on these only).
final class QemuProcess {
    let pid: pid_t
    private let stdoutFD: Int32
    private let stderrFD: Int32
    private var pending = [UInt8]()
    private var stderrBytes = [UInt8]()
    private var exitStatus: Int32?

    private init(pid: pid_t, stdoutFD: Int32, stderrFD: Int32) {
        self.pid = pid
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
    }

    static func spawn(binary: String, arguments: [String], inheriting fds: [Int32]) throws -> QemuProcess {
        guard let path = QemuLocator.path(of: binary) else {
            throw GuestLabError.qemuFailedToStart(binary: binary, status: nil, stderr: "\(binary) not found in PATH")
        }
        for fd in fds where fcntl(fd, F_GETFD) < 0 {
            throw GuestLabError.qemuFailedToStart(binary: binary, status: nil, stderr: "descriptor \(fd) meant for QEMU is not open")
        }
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        // Close-on-exec from birth, so a concurrent spawn elsewhere cannot inherit them.
        guard sandnet_pipe_cloexec(&out) == 0 else { throw spawnError(binary, errno) }
        guard sandnet_pipe_cloexec(&err) == 0 else {
            close(out[0])
            close(out[1])
            throw spawnError(binary, errno)
        }
        defer {
            close(out[1])
            close(err[1])
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        // dup2 onto itself clears FD_CLOEXEC (POSIX, glibc >= 2.29): the queue descriptors
        // keep their numbers, which the -netdev arguments name.
        for fd in fds { posix_spawn_file_actions_adddup2(&actions, fd, fd) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        var all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard rc == 0 else {
            close(out[0])
            close(err[0])
            throw spawnError(binary, rc)
        }
        for fd in [out[0], err[0]] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        return QemuProcess(pid: pid, stdoutFD: out[0], stderrFD: err[0])
    }

    private static func spawnError(_ binary: String, _ e: Int32) -> GuestLabError {
        .qemuFailedToStart(binary: binary, status: nil, stderr: String(cString: strerror(e)))
    }

    var stderrText: String { String(decoding: stderrBytes, as: UTF8.self) }

    /// The exit status once QEMU has exited (reaped here), else nil.
    func pollExit() -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { exitStatus = Self.decode(status) }
        return exitStatus
    }

    /// Complete console lines read within `waitMilliseconds` (0: only what is there now).
    /// Another process may hold a copy of the pipe, so end-of-file is never waited for.
    func readLines(waitMilliseconds: Int32) -> [String] {
        var fds = [pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0), pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 2, waitMilliseconds)
        drain(stdoutFD) { pending += $0 }
        drain(stderrFD) { stderrBytes += $0 }
        var lines: [String] = []
        while let nl = pending.firstIndex(of: 10) {
            lines.append(String(decoding: pending[..<nl], as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r")))
            pending.removeSubrange(...nl)
        }
        if exitStatus != nil, !pending.isEmpty {
            lines.append(String(decoding: pending, as: UTF8.self))
            pending.removeAll()
        }
        return lines
    }

    private func drain(_ fd: Int32, _ append: ([UInt8]) -> Void) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return }
            append(Array(buffer[..<n]))
        }
    }

    /// Kills QEMU if it still runs, reaps it, closes the pipes.
    func killAndReap() {
        if pollExit() == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            exitStatus = Self.decode(status)
        }
        close(stdoutFD)
        close(stderrFD)
    }

    private static func decode(_ status: Int32) -> Int32 {
        // WIFEXITED / WEXITSTATUS; a signal shows as 128 + signal, as shells do.
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
