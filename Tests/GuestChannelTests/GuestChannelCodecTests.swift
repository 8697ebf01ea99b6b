import Foundation
import QemuWiring
import SandboxNetwork
import SandnetCore
import Testing

/// The guest channel's lines, byte for byte, and refusals of what a reader must not accept.
@Suite struct GuestChannelCodecTests {
    static func interface() throws -> GuestInterface {
        GuestInterface(
            name: "net1", mac: try #require(MACAddress("02:5e:10:00:00:02")), mtu: 1500,
            addresses: [try #require(IPPrefix("203.0.113.2/24"))],
            routes: [GuestRoute(destination: "198.51.100.0/24", family: "inet", gateway: IPAddress("203.0.113.1"), scope: "universe")],
            neighbours: [
                GuestNeighbour(address: try #require(IPAddress("203.0.113.1")), mac: try #require(MACAddress("02:5e:10:00:00:fe")))
            ],
            pciRootPort: "sn-rp1", pciRootPortAddress: "00:10.1", pciSlot: "00.0", model: "tcfilter")
    }

    func text(_ d: Data) -> String { String(decoding: d, as: UTF8.self) }

    @Test func addInterfaceIsOneLineWithTheGuestDescriptionsInterface() throws {
        let m = GuestChangeMessage(seq: 42, change: .addInterface(try Self.interface()))
        let line = GuestChannelCodec.encode(m)
        #expect(
            text(line)
                == #"{"interface":{"addresses":["203.0.113.2/24"],"mac":"02:5e:10:00:00:02","model":"tcfilter","mtu":1500,"name":"net1","neighbours":[{"address":"203.0.113.1","mac":"02:5e:10:00:00:fe"}],"pci_root_port":"sn-rp1","pci_root_port_address":"00:10.1","pci_slot":"00.0","routes":[{"destination":"198.51.100.0/24","family":"inet","gateway":"203.0.113.1","scope":"universe"}]},"op":"add-interface","seq":42,"version":1}"#
                + "\n")
        #expect(line.filter { $0 == 10 }.count == 1)
        #expect(try GuestChannelCodec.decodeChange(line.dropLast()) == m)
    }

    @Test func removeInterfaceNamesAndMac() throws {
        let m = GuestChangeMessage(seq: 7, change: .removeInterface(name: "net1", mac: try #require(MACAddress("02:5e:10:00:00:02"))))
        #expect(
            text(GuestChannelCodec.encode(m)) == #"{"mac":"02:5e:10:00:00:02","name":"net1","op":"remove-interface","seq":7,"version":1}"#
                + "\n")
        #expect(try GuestChannelCodec.decodeChange(GuestChannelCodec.encode(m)) == m)
    }

    @Test func acksAndHelloFromTheGuest() throws {
        #expect(
            try GuestChannelCodec.decodeReply(Data(#"{"version":1,"op":"ack","seq":42,"status":"ok"}"#.utf8)) == .ack(GuestAck(seq: 42)))
        #expect(
            try GuestChannelCodec.decodeReply(
                Data(#"{"version":1,"op":"ack","seq":5,"status":"error","error":"no NIC with MAC 02:5e:10:00:00:02"}"#.utf8))
                == .ack(GuestAck(seq: 5, error: "no NIC with MAC 02:5e:10:00:00:02")))
        #expect(try GuestChannelCodec.decodeReply(Data(#"{"version":1,"op":"hello"}"#.utf8)) == .hello(version: 1))
        #expect(text(GuestChannelCodec.encode(.ack(GuestAck(seq: 3)))) == #"{"op":"ack","seq":3,"status":"ok","version":1}"# + "\n")
        #expect(
            text(GuestChannelCodec.encode(.ack(GuestAck(seq: 3, error: "x/y"))))
                == #"{"error":"x/y","op":"ack","seq":3,"status":"error","version":1}"# + "\n")
    }

    @Test func otherVersionsAndBrokenLinesAreRefused() {
        #expect(throws: GuestChannelError.unsupportedVersion(2)) {
            try GuestChannelCodec.decodeReply(Data(#"{"version":2,"op":"ack","seq":1,"status":"ok"}"#.utf8))
        }
        #expect(throws: GuestChannelError.malformed(reason: "ack without seq", line: #"{"version":1,"op":"ack","status":"ok"}"#)) {
            try GuestChannelCodec.decodeReply(Data(#"{"version":1,"op":"ack","status":"ok"}"#.utf8))
        }
        #expect(throws: GuestChannelError.self) {
            try GuestChannelCodec.decodeReply(Data(#"{"version":1,"op":"ack","seq":1,"status":"maybe"}"#.utf8))
        }
        #expect(throws: GuestChannelError.self) {
            try GuestChannelCodec.decodeChange(Data(#"{"version":1,"op":"add-interface","seq":1}"#.utf8))
        }
        #expect(throws: GuestChannelError.self) { try GuestChannelCodec.decodeChange(Data(#"{"version":1,"op":"reboot","seq":1}"#.utf8)) }
        #expect(throws: GuestChannelError.self) { try GuestChannelCodec.decodeChange(Data("not json".utf8)) }
    }
}

/// The QEMU arguments of the channel's port.
@Suite struct GuestChannelDeviceTests {
    @Test func virtioSerialPortNamedForTheGuestWithAListeningChardev() {
        #expect(
            GuestChannelDevice.arguments(socketPath: "/run/sandnet/a,b/guest.sock") == [
                "-device", "virtio-serial-pci,id=sn-vser0",
                "-chardev", "socket,id=sandnet0,path=/run/sandnet/a,,b/guest.sock,server=on,wait=off",
                "-device", "virtserialport,chardev=sandnet0,name=org.sandnet.guest.0"
            ])
        #expect(GuestChannelCodec.portName == GuestChannelDevice.portName)
    }
}
