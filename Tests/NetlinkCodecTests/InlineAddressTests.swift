import Foundation
import SandnetCore
import Testing

/// IPv6 addresses and MACs are held inline; text, bytes, JSON and equality must be what
/// they were when they were arrays (journals on disk and JSON outputs depend on it).
@Suite struct InlineAddressTests {
    @Test(arguments: ["2001:db8::1", "::", "::1", "fe80::2:0:0:fe", "2001:db8:1:1f3::1", "1:2:3:4:5:6:7:8", "::ffff:198.51.100.7"])
    func ipv6TextBytesAndJSONRoundTrip(text: String) throws {
        let a = try #require(IPAddress(text))
        let bytes = a.bytes
        #expect(bytes.count == 16)
        #expect(IPAddress(bytes: bytes) == a)
        #expect(IPAddress(bytes: bytes[...]) == a)
        #expect(bytes.withUnsafeBytes { IPAddress(bytes: $0) } == a)
        #expect(IPAddress(a.description) == a)
        let json = try JSONEncoder().encode([a])
        #expect(String(decoding: json, as: UTF8.self) == "[\"\(a.description)\"]")
        #expect(try JSONDecoder().decode([IPAddress].self, from: json) == [a])
    }

    @Test func ipv6HalvesAreNetworkOrder() throws {
        let a = try #require(IPAddress("2001:db8:102:304:506:708:90a:b0c"))
        #expect(a == .v6(high: 0x2001_0db8_0102_0304, low: 0x0506_0708_090a_0b0c))
        #expect(a.bytes == [0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        #expect(a.description == "2001:db8:102:304:506:708:90a:b0c")
        #expect(IPAddress.v6(bytes: [UInt8](repeating: 0, count: 15)) == nil)
        #expect(IPAddress(bytes: [UInt8](repeating: 0, count: 5)) == nil)
    }

    @Test func equalAddressesHashAlikeWhateverTheyWereBuiltFrom() throws {
        let text = try #require(IPAddress("2001:db8::9"))
        let raw = try #require(
            ([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9] as [UInt8]).withUnsafeBytes { IPAddress(bytes: $0) })
        #expect(Set([text, raw]).count == 1)
        #expect(text != IPAddress("2001:db8::8"))
        #expect(IPAddress("198.51.100.9") != IPAddress("::ffff:198.51.100.9"))
    }

    @Test func sixByteMACsRoundTripThroughTextBytesAndJSON() throws {
        let m = try #require(MACAddress("02:00:0a:ff:00:fe"))
        #expect(m.bytes == [0x02, 0x00, 0x0a, 0xff, 0x00, 0xfe])
        #expect(m.count == 6)
        #expect(m.description == "02:00:0a:ff:00:fe")
        #expect(MACAddress(bytes: m.bytes) == m)
        #expect(m.bytes.withUnsafeBytes { MACAddress(bytes: $0) } == m)
        #expect(Set([m, MACAddress(bytes: [0x02, 0x00, 0x0a, 0xff, 0x00, 0xfe])]).count == 1)
        #expect(m.isLocallyAdministered && !m.isMulticast)
        let json = try JSONEncoder().encode(m)
        #expect(String(decoding: json, as: UTF8.self) == "\"02:00:0a:ff:00:fe\"")
        #expect(try JSONDecoder().decode(MACAddress.self, from: json) == m)
        var changed = m
        changed.bytes[5] = 0x01
        #expect(changed.description == "02:00:0a:ff:00:01" && changed != m)
    }

    @Test func otherLengthsAreKeptAsGiven() {
        // A tunnel's "hardware" address is its IPv4 address; lo has none.
        let tunnel = MACAddress(bytes: [198, 51, 100, 1])
        #expect(tunnel.bytes == [198, 51, 100, 1] && tunnel.count == 4)
        #expect(tunnel.description == "c6:33:64:01")
        #expect(([198, 51, 100, 1] as [UInt8]).withUnsafeBytes { MACAddress(bytes: $0) } == tunnel)
        #expect(tunnel != MACAddress(bytes: [198, 51, 100, 1, 0, 0]))
        let empty = MACAddress(bytes: [])
        #expect(empty.bytes.isEmpty && !empty.isMulticast && empty.description.isEmpty)
        var grown = tunnel
        grown.bytes += [0, 0]
        #expect(grown == MACAddress(bytes: [198, 51, 100, 1, 0, 0]) && grown.count == 6)
    }

    @Test func randomLocalMACsAreUnicastAndLocal() {
        for _ in 0..<64 {
            let m = MACAddress.randomLocal()
            #expect(m.count == 6 && m.isLocallyAdministered && !m.isMulticast)
        }
    }
}
