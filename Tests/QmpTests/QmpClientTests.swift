import Foundation
import Testing

@testable import Qmp

/// The client's handling of the stream, against a scripted server: events between replies,
/// late replies of timed-out commands, garbage, and the server going away.
@Suite struct QmpClientTests {
    static let ok = #"{"return": {}, "id": "ID"}"#

    @Test func eventsArrivingBeforeAReplyAreQueuedForLater() throws {
        let server = try ScriptedQmpServer { command, _ in
            switch command {
            case "device_del":
                return [
                    #"{"event": "DEVICE_DELETED", "data": {"path": "/machine/peripheral/nic1/virtio-backend"}, "timestamp": {"seconds": 1, "microseconds": 2}}"#,
                    #"{"event": "NIC_RX_FILTER_CHANGED", "data": {"name": "nic2"}, "timestamp": {"seconds": 1, "microseconds": 3}}"#,
                    Self.ok,
                    #"{"event": "DEVICE_DELETED", "data": {"device": "nic1", "path": "/machine/peripheral/nic1"}, "timestamp": {"seconds": 1, "microseconds": 4}}"#
                ]
            default: return [Self.ok]
            }
        }
        let qmp = try QmpClient(path: server.path, timeout: .seconds(5))
        #expect(qmp.greeting.versionText == "7.2.0")
        try qmp.deviceDel(id: "nic1")
        // The backend's DEVICE_DELETED (no "device") does not count; the device's does.
        let e = try qmp.waitForDeviceDeleted(id: "nic1", timeout: .seconds(5))
        #expect(e.data["path"] == "/machine/peripheral/nic1")
        let queued = qmp.takeEvents()
        #expect(queued.events.map(\.name) == ["DEVICE_DELETED", "NIC_RX_FILTER_CHANGED"])
        #expect(queued.dropped == 0)
        #expect(qmp.takeEvents().events.isEmpty)
    }

    @Test func aLateReplyOfATimedOutCommandIsNotTakenForTheNext() throws {
        let server = try ScriptedQmpServer { command, id in
            switch command {
            case "slow": return [] // answered only together with the next command
            case "query-status":
                let previous = "sandnet-\(Int(id.dropFirst(8))! - 1)"
                return [
                    #"{"return": {"status": "late", "running": false}, "id": "\#(previous)"}"#,
                    #"{"return": {"status": "running", "running": true}, "id": "ID"}"#
                ]
            default: return [Self.ok]
            }
        }
        let qmp = try QmpClient(path: server.path, timeout: .seconds(5))
        #expect(throws: QmpClientError.timedOut(path: server.path, waitingFor: "the reply to slow", seconds: 0.3)) {
            try qmp.execute("slow", timeout: .milliseconds(300))
        }
        #expect(try qmp.runState() == (true, "running"))
    }

    @Test func garbageAndAClosedSocketAreTypedErrors() throws {
        let server = try ScriptedQmpServer { command, _ in
            switch command {
            case "garbage": return ["this is not json"]
            case "bye": return ["CLOSE"]
            default: return [Self.ok]
            }
        }
        let qmp = try QmpClient(path: server.path, timeout: .seconds(5))
        #expect(throws: QmpClientError.protocolViolation(path: server.path, detail: "not JSON: this is not json")) {
            try qmp.execute("garbage")
        }
        #expect(throws: QmpClientError.socketGone(path: server.path, waitingFor: "the reply to bye")) { try qmp.execute("bye") }
        qmp.close()
        #expect(throws: QmpClientError.closed(path: server.path)) { try qmp.execute("query-status") }
    }

    @Test func aSilentServerTimesOutTheGreeting() throws {
        // A listener that never accepts: connect succeeds, no greeting ever comes.
        let dir = "/tmp/sandnet-qmpsilent-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(fd) }
        var sa = sockaddr_un()
        sa.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sa.sun_path) { raw in for (i, b) in "\(dir)/s".utf8.enumerated() { raw[i] = b } }
        _ = withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(listen(fd, 1) == 0)
        let started = ContinuousClock.now
        #expect(throws: QmpClientError.timedOut(path: "\(dir)/s", waitingFor: "the QMP greeting", seconds: 0.5)) {
            try QmpClient(path: "\(dir)/s", timeout: .milliseconds(500))
        }
        #expect(ContinuousClock.now - started < .seconds(3))
    }
}
