import Foundation
import SandnetCore
import Testing

@testable import Qmp

/// QMP bytes both ways, without QEMU. The server lines are what QEMU 7.2 sends.
@Suite struct QmpCodecTests {
    func text(_ d: Data) -> String { String(decoding: d, as: UTF8.self) }
    func decode(_ s: String) throws -> QmpMessage { try QmpCodec.decode(line: Data(s.utf8)) }

    @Test func commandsCarryAnIDAndSortedArguments() {
        #expect(
            text(QmpCodec.encodeCommand("qmp_capabilities", id: "sandnet-1")) == #"{"execute":"qmp_capabilities","id":"sandnet-1"}"# + "\n")
        #expect(text(QmpCodec.encodeCommand("query-pci", id: nil)) == #"{"execute":"query-pci"}"# + "\n")
        let netdev = QmpTapNetdev(id: "sn-nd1", queueFdNames: ["q0", "q1"], vhostFdNames: ["v0", "v1"])
        #expect(
            text(QmpCodec.encodeCommand("netdev_add", arguments: netdev.arguments, id: "sandnet-7"))
                == #"{"arguments":{"fds":"q0:q1","id":"sn-nd1","type":"tap","vhost":true,"vhostfds":"v0:v1"},"execute":"netdev_add","id":"sandnet-7"}"#
                + "\n")
        #expect(QmpTapNetdev(id: "n", queueFdNames: ["a"]).arguments == ["type": "tap", "id": "n", "fds": "a"])
    }

    @Test func virtioNetDeviceArgumentsMatchTheColdPluggedOnes() throws {
        let mac = try #require(MACAddress("02:5e:10:00:00:02"))
        let two = QmpVirtioNetDevice(id: "sn-nic1", netdev: "sn-nd1", mac: mac, bus: "sn-rp1", queues: 2)
        #expect(
            text(QmpCodec.encodeCommand("device_add", arguments: two.arguments, id: "x"))
                == #"{"arguments":{"addr":"0x0","bus":"sn-rp1","driver":"virtio-net-pci","id":"sn-nic1","mac":"02:5e:10:00:00:02","mq":"on","netdev":"sn-nd1","romfile":"","vectors":6},"execute":"device_add","id":"x"}"#
                + "\n")
        let one = QmpVirtioNetDevice(id: "a", netdev: "b", mac: mac, bus: "c", queues: 1)
        #expect(one.arguments["mq"] == nil)
        #expect(one.arguments["vectors"] == nil)
        #expect(one.arguments["romfile"] == "")
    }

    @Test func greetingGivesVersionAndCapabilities() throws {
        let line =
            #"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7+deb12u18+b3"}, "capabilities": ["oob"]}}"#
        guard case .greeting(let g) = try decode(line) else {
            Issue.record("not a greeting")
            return
        }
        #expect(g == QmpGreeting(major: 7, minor: 2, micro: 22, package: "Debian 1:7.2+dfsg-7+deb12u18+b3", capabilities: ["oob"]))
        #expect(g.versionText == "7.2.22")
    }

    @Test func repliesAndErrorsKeepTheirID() throws {
        #expect(try decode(#"{"return": {}, "id": "sandnet-3"}"#) == .reply(QmpReply(id: "sandnet-3", value: .object([:]))))
        #expect(
            try decode(#"{"return": [1, "a", true, null, 1.5]}"#) == .reply(QmpReply(id: nil, value: [1, "a", true, .null, .double(1.5)])))
        #expect(
            try decode(#"{"id": "sandnet-4", "error": {"class": "GenericError", "desc": "Bus 'nosuch' not found"}}"#)
                == .error(QmpError(id: "sandnet-4", errorClass: "GenericError", desc: "Bus 'nosuch' not found")))
        #expect(try decode(#"{"return": 5, "id": 12}"#) == .reply(QmpReply(id: "12", value: 5)))
    }

    @Test func eventsHaveNameTimestampAndData() throws {
        let line =
            #"{"timestamp": {"seconds": 1764634000, "microseconds": 250000}, "event": "DEVICE_DELETED", "data": {"path": "/machine/peripheral/nic1", "device": "nic1"}}"#
        guard case .event(let e) = try decode(line) else {
            Issue.record("not an event")
            return
        }
        #expect(e.name == "DEVICE_DELETED")
        #expect(e.data["device"] == "nic1")
        #expect(e.data["path"]?.stringValue == "/machine/peripheral/nic1")
        #expect(e.timestamp == Date(timeIntervalSince1970: 1_764_634_000.25))
        guard case .event(let bare) = try decode(#"{"event": "STOP", "timestamp": {"seconds": -1, "microseconds": -1}}"#) else {
            Issue.record("not an event")
            return
        }
        #expect(bare.data == .object([:]))
        #expect(bare.timestamp == nil)
    }

    @Test func malformedLinesAreRefusedWithTheReason() {
        #expect(throws: QmpDecodingError(reason: "not JSON", line: "{oops")) { try decode("{oops") }
        #expect(throws: QmpDecodingError(reason: "not a JSON object", line: "[1]")) { try decode("[1]") }
        #expect(throws: QmpDecodingError(reason: "error without class and desc", line: #"{"error": {}}"#)) { try decode(#"{"error": {}}"#) }
        #expect(throws: QmpDecodingError.self) { try decode(#"{"something": 1}"#) }
        #expect(throws: QmpDecodingError.self) { try decode(#"{"QMP": {}}"#) }
    }

    @Test func lineBufferSplitsCRLFAcrossChunksAndBoundsALine() throws {
        var b = QmpLineBuffer(maximumLineLength: 8)
        b.append(Array("{\"a\":".utf8))
        #expect(try b.nextLine() == nil)
        b.append(Array("1}\r\n{}\n{".utf8))
        #expect(try b.nextLine() == Data(#"{"a":1}"#.utf8))
        #expect(try b.nextLine() == Data("{}".utf8))
        #expect(try b.nextLine() == nil)
        #expect(b.pendingCount == 1)
        b.append(Array("123456789".utf8))
        #expect(throws: QmpDecodingError.self) { try b.nextLine() }
    }

    @Test func jsonValuesRoundTripWithTheirTypes() throws {
        let v: JSONValue = ["b": true, "i": -3, "s": "x/y", "a": [.null, .double(0.5)], "o": ["k": 1]]
        #expect(String(decoding: v.encodedLine(), as: UTF8.self) == #"{"a":[null,0.5],"b":true,"i":-3,"o":{"k":1},"s":"x/y"}"#)
        #expect(try JSONValue.decode(v.encodedLine()) == v)
        #expect(try JSONValue.decode(Data("1".utf8)) == .int(1))
        #expect(try JSONValue.decode(Data("false".utf8)) == .bool(false))
    }

    @Test func errorsReadAsOneSentenceWithQemuWords() {
        let refused = QmpClientError.commandFailed(
            command: "device_add", error: QmpError(id: "x", errorClass: "GenericError", desc: "Bus 'rp9' not found"))
        #expect(refused.description == "QEMU refused device_add: Bus 'rp9' not found (GenericError)")
        #expect(refused.qemuErrorClass == "GenericError")
        #expect(
            QmpClientError.timedOut(path: "/run/q.sock", waitingFor: "event DEVICE_DELETED", seconds: 2).description
                == "no answer on the QMP socket /run/q.sock to event DEVICE_DELETED within 2 s")
        #expect(
            QmpClientError.cannotConnect(path: "/run/q.sock", errno: ENOENT).description
                == "cannot connect to the QMP socket /run/q.sock: No such file or directory; is QEMU running with -qmp unix:/run/q.sock,server=on,wait=off?"
        )
        #expect(
            QmpClientError.socketGone(path: "/q", waitingFor: "the reply to netdev_del").description
                == "the QMP socket /q closed while waiting for the reply to netdev_del: QEMU exited or closed its monitor")
    }
}
