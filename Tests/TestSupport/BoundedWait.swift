import Foundation
import Synchronization

/// Every wait in a test ends at a deadline, with a sentence saying what did not happen:
/// a hung child or thread fails its test instead of hanging the whole run.
public enum BoundedWait {
    /// Whether `p` exited within `seconds`. Polls: Process has no timed wait, and a
    /// termination handler set after `run()` may miss an exit that already happened.
    public static func exited(_ p: Process, within seconds: TimeInterval) -> Bool {
        let deadline = Date() + seconds
        var pause: useconds_t = 1_000
        while p.isRunning {
            if Date() >= deadline { return false }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
        p.waitUntilExit()   // returns at once: it has exited; makes terminationStatus final
        return true
    }

    /// Waits for `p` to exit; past `seconds` kills it (SIGKILL) and throws.
    public static func exit(_ p: Process, within seconds: TimeInterval, _ what: @autoclosure () -> String) throws {
        if exited(p, within: seconds) { return }
        kill(p.processIdentifier, SIGKILL)
        _ = exited(p, within: 10)
        throw TestFailure("\(what()) (pid \(p.processIdentifier)) did not exit within \(Int(seconds)) s; killed it")
    }

    /// Waits for a semaphore; throws past `seconds`.
    public static func wait(_ s: DispatchSemaphore, within seconds: TimeInterval, _ what: @autoclosure () -> String) throws {
        guard s.wait(timeout: .now() + seconds) == .success else {
            throw TestFailure("\(what()) did not happen within \(Int(seconds)) s")
        }
    }

    /// Waits for a group; throws past `seconds`.
    public static func wait(_ g: DispatchGroup, within seconds: TimeInterval, _ what: @autoclosure () -> String) throws {
        guard g.wait(timeout: .now() + seconds) == .success else {
            throw TestFailure("\(what()) did not happen within \(Int(seconds)) s")
        }
    }
}

/// What a child process did: how it ended and everything it wrote.
public struct ProcessOutcome: Sendable {
    public var status: Int32
    public var killedBySignal: Bool
    public var stdout: String
    public var stderr: String
}

extension TestEnvironment {
    /// Runs `p` (configured but not started) to its end within `timeout` seconds, with
    /// stdout and stderr collected (read both before waiting, so that a chatty child
    /// cannot block on a full pipe) and `stdin` written to its standard input.
    /// Past the deadline the child is killed and this throws, naming `argv`.
    public static func collect(_ p: Process, stdin: String? = nil, timeout: TimeInterval) throws -> ProcessOutcome {
        let what = "`" + ([p.executableURL?.path ?? "?"] + (p.arguments ?? [])).joined(separator: " ") + "`"
        let out = Pipe(), err = Pipe(), inPipe = Pipe()
        p.standardOutput = out; p.standardError = err
        p.standardInput = stdin == nil ? FileHandle.nullDevice : inPipe
        try p.run()
        if let stdin { inPipe.fileHandleForWriting.write(Data(stdin.utf8)); try inPipe.fileHandleForWriting.close() }
        let collected = Mutex<(out: Data, err: Data)>((Data(), Data()))
        let readers = DispatchGroup()
        readers.enter()
        DispatchQueue.global().async { let d = out.fileHandleForReading.readDataToEndOfFile(); collected.withLock { $0.out = d }; readers.leave() }
        readers.enter()
        DispatchQueue.global().async { let d = err.fileHandleForReading.readDataToEndOfFile(); collected.withLock { $0.err = d }; readers.leave() }
        let deadline = Date() + timeout
        if readers.wait(timeout: .now() + timeout) == .timedOut {
            kill(p.processIdentifier, SIGKILL)
            // Its pipes close with it, unless a child of its own still holds them.
            let drained = readers.wait(timeout: .now() + 5) == .success
            throw TestFailure("\(what) did not finish within \(Int(timeout)) s; killed it"
                + (drained ? "" : " (its output pipes stayed open: a process it started still runs)"))
        }
        try BoundedWait.exit(p, within: max(1, deadline.timeIntervalSinceNow), what)
        let (o, e) = collected.withLock { ($0.out, $0.err) }
        return ProcessOutcome(status: p.terminationStatus, killedBySignal: p.terminationReason == .uncaughtSignal,
                              stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}
