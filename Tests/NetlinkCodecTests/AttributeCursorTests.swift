import NetlinkCodec
import SandnetCore
import Testing

/// The in-place attribute walk the typed decoders use must see exactly what the attribute
/// arrays see, and reject exactly what they reject, with the same error.
@Suite struct AttributeCursorTests {
    @Test func walksTheSameAttributesAsDecodeAllOnKernelReplies() throws {
        for datagram in [KernelFixtures.newlinkLo, KernelFixtures.dumpNeigh, KernelFixtures.dumpAddrs, KernelFixtures.dumpRoutes] {
            for m in try NetlinkMessage.decodeStream(datagram) {
                guard let size = KernelFixtureTests.familyHeaderSize(m.header.type) else { continue }
                let viaArray = try m.attributes(after: size)
                let viaCursor = try Self.walk(m, headerSize: size)
                #expect(viaCursor == viaArray, "message type \(m.header.type)")
                #expect(!viaCursor.isEmpty)
            }
        }
    }

    @Test func nestedCursorMatchesNested() throws {
        let lo = try #require(try NetlinkMessage.decodeStream(KernelFixtures.newlinkLo).first)
        let nests = try IfInfoMessage.decode(lo).1.filter(\.isNested)
        #expect(!nests.isEmpty)
        for nest in nests {
            let children = try nest.payloadSlice.withUnsafeBytes { raw in
                var c = try AttributeCursor(raw).checked()
                var out: [NetlinkAttribute] = []
                while let a = try c.next() { out.append(a.attribute) }
                return out
            }
            #expect(children == (try nest.nested()))
        }
    }

    @Test func readersAgreeWithTheAttributeReaders() throws {
        var w = AttributeWriter()
        w.add(1, u8: 7)
        w.add(2, u16: 0xbeef)
        w.add(3, u32: 0xdead_beef)
        w.add(4, u64: 0x0102_0304_0506_0708)
        w.add(5, string: "veth0")
        w.add(6, be16: 4789)
        w.add(7, [])
        let array = try NetlinkAttribute.decodeAll(w.bytes[...])
        try w.bytes.withUnsafeBytes { raw in
            var c = try AttributeCursor(raw).checked()
            for expected in array {
                let a = try #require(try c.next())
                #expect(a.type == expected.type && a.isNested == expected.isNested)
                #expect(a.string() == expected.string())
                #expect(Self.result { try a.u8() } == Self.result { try expected.u8() })
                #expect(Self.result { try a.u16() } == Self.result { try expected.u16() })
                #expect(Self.result { try a.u32() } == Self.result { try expected.u32() })
                #expect(Self.result { try a.u64() } == Self.result { try expected.u64() })
                #expect(Self.result { try a.be16() } == Self.result { try expected.be16() })
                #expect(Self.result { try a.be32() } == Self.result { try expected.be32() })
            }
            #expect(try c.next() == nil)
        }
    }

    @Test func mutatedRepliesThrowTheSameErrorOrGiveTheSameAttributes() {
        var rng = SplitMix64(seed: 0xc0de)
        let seeds = [KernelFixtures.newlinkLo, KernelFixtures.dumpNeigh, KernelFixtures.dumpAddrs, KernelFixtures.dumpRoutes]
        var compared = 0
        var rejected = 0
        for i in 0..<5_000 {
            var b = seeds[i % seeds.count]
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let at = Int(rng.next() % UInt64(b.count))
                b[at] = rng.next() % 2 == 0 ? b[at] ^ UInt8(1 << (rng.next() % 8)) : [0, 0xff, 3, 4, 5][Int(rng.next() % 5)]
            }
            guard let messages = try? NetlinkMessage.decodeStream(b) else { continue }
            for m in messages {
                guard let size = KernelFixtureTests.familyHeaderSize(m.header.type) else { continue }
                // What the typed decoders got before: the family header, then the attribute array.
                let viaArray = Self.result { try Self.headerThenAttributes(m, headerSize: size) }
                let viaCursor = Self.result { try Self.walk(m, headerSize: size) }
                #expect(viaCursor == viaArray)
                compared += 1
                if case .failure = viaArray { rejected += 1 }
            }
        }
        #expect(compared > 0 && rejected > 0)
    }

    @Test func shortFamilyHeaderThrowsAsTheArrayDecoderDoes() {
        let m = NetlinkMessage(header: NetlinkHeader(type: RTM.NEWLINK, flags: []), payload: [1, 2, 3])
        let viaArray = Self.result { try IfInfoMessage.decode(m).0 }
        let viaCursor = Self.result { try m.withAttributes(after: IfInfoMessage.self) { h, _ in h } }
        #expect(viaCursor == viaArray)
        if case .success = viaCursor { Issue.record("a 3-byte ifinfomsg decoded") }
    }

    // MARK: helpers

    static func walk(_ m: NetlinkMessage, headerSize: Int) throws -> [NetlinkAttribute] {
        func attributes<H: FamilyHeader>(_: H.Type) throws -> [NetlinkAttribute] {
            try m.withAttributes(after: H.self) { _, c in
                var out: [NetlinkAttribute] = []
                while let a = try c.next() { out.append(a.attribute) }
                return out
            }
        }
        switch headerSize {
        case IfInfoMessage.size: return try attributes(IfInfoMessage.self)
        case IfAddrMessage.size: return try attributes(IfAddrMessage.self)
        case RouteMessageHeader.size: return try attributes(RouteMessageHeader.self)
        default: return try attributes(TcMessageHeader.self)
        }
    }

    static func headerThenAttributes(_ m: NetlinkMessage, headerSize: Int) throws -> [NetlinkAttribute] {
        switch headerSize {
        case IfInfoMessage.size: return try IfInfoMessage.decode(m).1
        case IfAddrMessage.size: return try IfAddrMessage.decode(m).1
        case RouteMessageHeader.size: return try RouteMessageHeader.decode(m).1
        default: return try TcMessageHeader.decode(m).1
        }
    }

    /// The value or the DecodeError; any other error is a test failure.
    static func result<T>(_ body: () throws -> T) -> Result<T, DecodeError>? {
        do { return .success(try body()) } catch let d as DecodeError { return .failure(d) } catch {
            Issue.record("non-DecodeError \(error)")
            return nil
        }
    }
}
