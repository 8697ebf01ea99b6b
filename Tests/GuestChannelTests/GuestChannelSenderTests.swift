import Foundation
import SandboxNetwork
import SandnetCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The sender against a listening socket that plays the guest's side of QEMU's chardev.
@Suite struct GuestChannelSenderTests {
    /// A listening Unix socket in a private directory; `serve` answers one connection on a thread.
    final class FakeChardev: Sendable {
        let directory = "/tmp/sandnet-gc-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var path: String { "\(directory)/chardev.sock" }
        let listener: Int32

        init() throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var sa = sockaddr_un()
            sa.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &sa.sun_path) { raw in
                for (i, b) in "\(directory)/chardev.sock".utf8.enumerated() { raw[i] = b }
            }
            let rc = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard rc == 0, listen(listener, 1) == 0 else { throw POSIXError(.EADDRINUSE) }
        }

        deinit {
            close(listener)
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// Accepts one connection, reads one line, and writes what `answer` makes of it.
        func serve(_ answer: @escaping @Sendable (String) -> [String]) -> Thread {
            let fd = listener
            let t = Thread {
                let c = accept(fd, nil, nil)
                guard c >= 0 else { return }
                defer { close(c) }
                var line = [UInt8]()
                var byte: UInt8 = 0
                while read(c, &byte, 1) == 1 && byte != 10 { line.append(byte) }
                // MSG_NOSIGNAL: the client may hang up first, and SIGPIPE would end the test process.
                for out in answer(String(decoding: line, as: UTF8.self)) {
                    _ = out.withCString { send(c, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                }
                usleep(200_000)
            }
            t.start()
            return t
        }
    }

    static func change() throws -> GuestChange {
        .removeInterface(name: "net1", mac: try #require(MACAddress("02:5e:10:00:00:02")))
    }

    static func seq(_ line: String) -> UInt64 {
        (try? GuestChannelCodec.decodeChange(Data(line.utf8)).seq) ?? 0
    }

    @Test func returnsTheAckOfItsOwnSequenceNumberSkippingOthers() throws {
        let chardev = try FakeChardev()
        _ = chardev.serve { line in
            let s = Self.seq(line)
            return [
                #"{"version":1,"op":"hello"}"# + "\n",
                #"{"version":1,"op":"ack","seq":\#(s &+ 1),"status":"error","error":"stale"}"# + "\n", "garbage\n",
                #"{"version":1,"op":"ack","seq":\#(s),"status":"ok"}"# + "\n"
            ]
        }
        let ack = try GuestChannelSender(path: chardev.path).send(try Self.change(), timeout: .seconds(5))
        #expect(ack.succeeded)
    }

    @Test func aGuestRefusalCarriesTheGuestsReason() throws {
        let chardev = try FakeChardev()
        _ = chardev.serve { line in
            [#"{"version":1,"op":"ack","seq":\#(Self.seq(line)),"status":"error","error":"no NIC with MAC 02:5e:10:00:00:02"}"# + "\n"]
        }
        #expect(
            throws: GuestChannelError.guestRefused(op: "remove-interface", interface: "net1", reason: "no NIC with MAC 02:5e:10:00:00:02")
        ) {
            try GuestChannelSender(path: chardev.path).send(try Self.change(), timeout: .seconds(5))
        }
    }

    @Test func aGuestLineBeyondTheBoundIsRefusedNotBuffered() throws {
        let chardev = try FakeChardev()
        _ = chardev.serve { _ in [String(repeating: "x", count: GuestChannelSender.maximumGuestLineLength + 70_000)] }
        do {
            try GuestChannelSender(path: chardev.path).send(try Self.change(), timeout: .seconds(5))
            Issue.record("an endless guest line was accepted")
        } catch let GuestChannelError.malformed(reason, _) {
            #expect(reason == "a line longer than \(GuestChannelSender.maximumGuestLineLength) bytes")
        }
    }

    @Test func silenceIsABoundedTimeoutAndNoSocketIsAClearError() throws {
        let chardev = try FakeChardev()
        _ = chardev.serve { _ in
            usleep(1_500_000)
            return []
        }
        let start = ContinuousClock.now
        #expect(throws: GuestChannelError.timedOut(path: chardev.path, op: "remove-interface", interface: "net1", seconds: 1)) {
            try GuestChannelSender(path: chardev.path).send(try Self.change(), timeout: .seconds(1))
        }
        #expect(ContinuousClock.now - start < .seconds(4))
        #expect(throws: GuestChannelError.cannotConnect(path: chardev.directory + "/none.sock", errno: ENOENT)) {
            try GuestChannelSender(path: chardev.directory + "/none.sock").send(try Self.change(), timeout: .seconds(1))
        }
    }
}
