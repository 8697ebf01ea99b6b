import CSandnetLinux
import Foundation
import NetlinkSocket
import Testing

/// Ownership of descriptors, seen from the other end of a pipe: the read end reports EOF
/// exactly when the write end is closed. (Checking for EBADF on a freed number would race
/// with other suites reusing it.)
@Suite struct FileDescriptorTests {
    /// A CLOEXEC pipe: (read end, write end).
    static func pipe() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        try #require(sandnet_pipe_cloexec(&fds) == 0)
        return (fds[0], fds[1])
    }

    /// Reads once without blocking: nil when nothing is there yet, 0 at EOF, else bytes read.
    static func readNow(_ fd: Int32) -> Int? {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 0) == 1 else { return nil }
        var buf = [UInt8](repeating: 0, count: 16)
        return buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    }

    @Test func ownerClosesWhenItGoesAway() throws {
        let (r, w) = try Self.pipe()
        defer { close(r) }
        func hold() {
            let owned = FileDescriptor(w)
            #expect(owned.rawValue == w)
        }
        hold()
        #expect(Self.readNow(r) == 0, "the write end is still open after its owner went away")
    }

    @Test func takeHandsOverWithoutClosing() throws {
        let (r, w) = try Self.pipe()
        defer { close(r) }
        let raw = FileDescriptor(w).take()
        #expect(Self.readNow(r) == nil, "take() closed the descriptor it handed over")
        var byte: UInt8 = 7
        #expect(write(raw, &byte, 1) == 1)
        #expect(Self.readNow(r) == 1)
        close(raw)
        #expect(Self.readNow(r) == 0)
    }

    @Test func closedHandleRefusesUseWithEBADF() throws {
        let h = try NetlinkHandle(families: [.route])
        h.close()
        do {
            _ = try h.withSocket { $0.fd }
            Issue.record("a closed handle handed out its socket")
        } catch let NetlinkError.system(_, _, e) {
            #expect(e == EBADF)
        }
        h.close() // idempotent
    }
}
