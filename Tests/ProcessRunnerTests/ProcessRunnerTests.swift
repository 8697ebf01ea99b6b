import Foundation
import ProcessRunner
import Testing

@Suite struct ProcessRunnerTests {
    @Test func exitStatusStdoutAndStderrAreSeparate() throws {
        let r = try ProcessRunner.run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout: .seconds(10))
        #expect(r.termination == .exited(3))
        #expect(r.status == 3 && r.signal == nil && !r.succeeded)
        #expect(r.stdoutText == "out\n")
        #expect(r.stderrText == "err\n")
    }

    @Test func aChildKilledBySignalIsReportedAsSuch() throws {
        let r = try ProcessRunner.run(["sh", "-c", "kill -TERM $$"], timeout: .seconds(10))
        #expect(r.termination == .killed(signal: SIGTERM))
        #expect(r.status == nil && r.signal == SIGTERM)
        #expect(r.termination.shellStatus == 128 + SIGTERM)
        #expect("\(r.termination)" == "was killed by signal 15 (SIGTERM)")
    }

    @Test func stdinIsTheGivenBytesOrEmpty() throws {
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let r = try ProcessRunner.run(["cat"], input: bytes, timeout: .seconds(10))
        #expect(r.succeeded)
        #expect(r.stdout == bytes)
        let none = try ProcessRunner.run(["cat"], timeout: .seconds(10))
        #expect(none.succeeded && none.stdout.isEmpty)
    }

    /// Far more than a pipe holds on both streams at once: a runner that drained them one
    /// after the other would deadlock here (and time out).
    @Test func aChattyChildOnBothStreamsDoesNotDeadlock() throws {
        let r = try ProcessRunner.run(
            ["sh", "-c", "head -c 3000000 /dev/zero; head -c 3000000 /dev/zero >&2; head -c 1000000 /dev/zero"],
            timeout: .seconds(30))
        #expect(r.succeeded)
        #expect(r.stdout.count == 4_000_000)
        #expect(r.stderr.count == 3_000_000)
    }

    @Test func environmentAdditionsAndExactEnvironments() throws {
        let added = try ProcessRunner.run(
            ["sh", "-c", "echo $SN_RUNNER_TEST:${HOME:+home}"],
            environment: .adding(["SN_RUNNER_TEST": "yes"]), timeout: .seconds(10))
        let home = ProcessInfo.processInfo.environment["HOME"] != nil
        #expect(added.stdoutText == "yes:\(home ? "home" : "")\n")
        let exact = try ProcessRunner.run(["env"], environment: .exactly(["A": "1", "PATH": "/usr/bin:/bin"]), timeout: .seconds(10))
        #expect(exact.stdoutText.split(separator: "\n").sorted() == ["A=1", "PATH=/usr/bin:/bin"])
    }

    /// The bound kills the child with SIGKILL and reaps it: no process with that pid remains,
    /// not even a zombie, and what it wrote before is in the error.
    @Test func timeoutKillsAndReapsTheChild() throws {
        let pidFile = NSTemporaryDirectory() + "sn-runner-timeout-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let start = ContinuousClock.now
        do {
            _ = try ProcessRunner.run(["sh", "-c", "echo $$ > \(pidFile); echo started; exec sleep 30"], timeout: .milliseconds(500))
            Issue.record("a 30 s sleep finished within 0.5 s")
        } catch let e {
            guard case .timedOut(let argv, let bound, let stdout, _) = e else {
                Issue.record("unexpected \(e)")
                return
            }
            #expect(argv.first == "sh" && bound == .milliseconds(500))
            #expect(String(decoding: stdout, as: UTF8.self) == "started\n")
            #expect("\(e)".contains("did not finish within 0.5 seconds and was killed with SIGKILL"))
        }
        #expect(ContinuousClock.now - start < .seconds(10))
        let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "pid \(pid) still exists (unreaped?)")
    }

    /// The child gets stdin, stdout, stderr and nothing else, even when this process holds a
    /// descriptor without CLOEXEC.
    @Test func noDescriptorLeaksIntoTheChild() throws {
        let leaky = open("/dev/null", O_RDONLY) // deliberately without O_CLOEXEC
        try #require(leaky >= 0)
        defer { close(leaky) }
        // The shell's descriptors, listed by its child `ls` (whose own /proc/self/fd would
        // include the directory it is reading).
        let r = try ProcessRunner.run(["sh", "-c", "ls /proc/$$/fd"], input: [1, 2, 3], timeout: .seconds(10))
        #expect(r.succeeded, "\(r.stderrText)")
        let fds = Set(r.stdoutText.split(separator: "\n").compactMap { Int32($0) })
        #expect(fds == [0, 1, 2], "the shell holds descriptors \(fds.sorted())")
        let spawned = try ProcessRunner.spawn(["sleep", "30"])
        let held = Set(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(spawned.pid)/fd").compactMap { Int32($0) })
        #expect(held == [0, 1, 2], "a spawned child holds \(held.sorted())")
        for fd in held {
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(spawned.pid)/fd/\(fd)") == "/dev/null")
        }
    }

    @Test func aMissingExecutableIsATypedError() throws {
        #expect(throws: ProcessRunnerError.executableNotFound(name: "sn-no-such-program", searched: ["/usr/bin", "/bin"])) {
            try ProcessRunner.run(["sn-no-such-program"], environment: .exactly(["PATH": "/usr/bin:/bin"]), timeout: .seconds(5))
        }
        #expect(throws: ProcessRunnerError.executableNotFound(name: "/nonexistent/prog", searched: [])) {
            try ProcessRunner.run(["/nonexistent/prog"], timeout: .seconds(5))
        }
        #expect(throws: ProcessRunnerError.emptyCommand) { try ProcessRunner.run([], timeout: .seconds(5)) }
        let e = ProcessRunnerError.executableNotFound(name: "ip", searched: ["/usr/bin"])
        #expect("\(e)" == "cannot run ip: not found in PATH (/usr/bin); install it or pass its full path")
    }

    @Test func aSpawnedChildCanBeStoppedContinuedAndWaitedFor() throws {
        let p = try ProcessRunner.spawn(["sh", "-c", "kill -STOP $$; exit 7"])
        var stopped = false
        for _ in 0..<200 where !stopped {
            let stat = (try? String(contentsOfFile: "/proc/\(p.pid)/stat", encoding: .utf8)) ?? ""
            stopped = stat.split(separator: ")").last?.split(separator: " ").first == "T"
            if !stopped { usleep(10_000) }
        }
        try #require(stopped, "the child did not stop itself")
        #expect(p.isRunning, "a stopped child has not ended")
        #expect(p.signal(SIGCONT))
        #expect(try p.wait(timeout: .seconds(10)) == .exited(7))
        #expect(!p.isRunning && !p.signal(SIGCONT))
    }

    @Test func aSpawnedChildThatOutlivesItsWaitIsKilled() throws {
        let p = try ProcessRunner.spawn(["sleep", "30"])
        #expect(throws: ProcessRunnerError.self) { try p.wait(timeout: .milliseconds(200)) }
        #expect(p.termination == .killed(signal: SIGKILL))
        #expect(kill(p.pid, 0) == -1 && errno == ESRCH)
        let q = try ProcessRunner.spawn(["sleep", "30"])
        #expect(q.kill() == .killed(signal: SIGKILL))
    }

    @Test func droppingASpawnedHandleKillsAndReapsTheChild() throws {
        var pid: pid_t = 0
        do {
            let p = try ProcessRunner.spawn(["sleep", "30"])
            pid = p.pid
            #expect(kill(pid, 0) == 0)
        }
        #expect(kill(pid, 0) == -1 && errno == ESRCH, "pid \(pid) outlived its handle")
    }
}
