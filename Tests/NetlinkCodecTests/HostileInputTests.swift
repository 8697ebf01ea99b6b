import NetlinkCodec
import SandnetCore
import Testing

/// Bytes no kernel would send. Every case must throw DecodeError; none may trap or
/// read past the end (a trap would kill the test process, so reaching the
/// expectations is itself the check).
@Suite struct HostileInputTests {
    @Test(arguments: [0, 1, 15] as [UInt32])
    func messageLengthBelowHeaderSizeThrows(length: UInt32) {
        var w = ByteWriter()
        NetlinkHeader(length: length, type: 16, flags: []).encode(into: &w)
        #expect(throws: DecodeError.badLength(what: "nlmsghdr", length: Int(length))) { try NetlinkMessage.decodeStream(w.bytes) }
    }

    @Test(arguments: [21, 64, 0x7fff_ffff, 0xffff_ffff] as [UInt32])
    func messageLengthBeyondDatagramThrows(length: UInt32) {
        var w = ByteWriter()
        NetlinkHeader(length: length, type: 16, flags: []).encode(into: &w)
        w.zeros(4)
        #expect(throws: DecodeError.self) { try NetlinkMessage.decodeStream(w.bytes) }
    }

    @Test func everyTruncationOfAKernelReplyThrowsOrStopsAtABoundary() throws {
        let full = KernelFixtures.newlinkLo + KernelFixtures.dumpNeigh
        let boundaries: Set<Int> = [0, KernelFixtures.newlinkLo.count, KernelFixtures.newlinkLo.count + 76, full.count]
        for n in 0...full.count {
            let prefix = full[0..<n]
            if boundaries.contains(n) {
                #expect(throws: Never.self) { try NetlinkMessage.decodeStream(prefix) }
            } else {
                #expect(throws: DecodeError.self, "prefix of \(n) bytes") { try NetlinkMessage.decodeStream(prefix) }
            }
        }
    }

    @Test func misalignedSecondMessageThrows() {
        // The first message claims 17 bytes and the second starts right after it, without
        // padding: the decoder skips to offset 20 and finds a garbage header.
        var d: [UInt8] = [17, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xaa]
        d += [20, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        #expect(throws: DecodeError.self) { try NetlinkMessage.decodeStream(d) }
    }

    @Test(arguments: [0, 1, 2, 3] as [UInt8])
    func attributeLengthBelowHeaderThrows(length: UInt8) {
        #expect(throws: DecodeError.badLength(what: "nlattr", length: Int(length))) {
            try NetlinkAttribute.decodeAll([length, 0, 1, 0, 0, 0, 0, 0][...])
        }
    }

    @Test func attributeLengthBeyondItsRunThrows() {
        #expect(throws: DecodeError.self) { try NetlinkAttribute.decodeAll([9, 0, 1, 0, 1, 2, 3, 4][...]) }
        #expect(throws: DecodeError.self) { try NetlinkAttribute.decodeAll([0xff, 0xff, 1, 0, 1, 2, 3, 4][...]) }
    }

    @Test func trailingGarbageShorterThanAHeaderThrowsButZeroPaddingDoesNot() throws {
        #expect(throws: DecodeError.self) { try NetlinkAttribute.decodeAll([4, 0, 1, 0, 0xaa, 0xbb][...]) }
        #expect(try NetlinkAttribute.decodeAll([4, 0, 1, 0, 0, 0][...]).count == 1)
    }

    @Test func childClaimingMoreThanItsParentThrows() throws {
        // Parent IFLA_LINKINFO of 12 bytes; its child claims 0xffff.
        let bytes: [UInt8] = [12, 0, 18, 0x80, 0xff, 0xff, 1, 0, 0x76, 0x65, 0x74, 0x68]
        let parent = try #require(try NetlinkAttribute.decodeAll(bytes[...]).first)
        #expect(throws: DecodeError.self) { try parent.nested() }
    }

    @Test func deepNestingDecodesOneLevelAtATime() throws {
        // 16,000 nested levels in one 64 KB attribute tree: each nested() call reads one
        // level, so depth costs no recursion in the codec.
        let depth = 16_000
        var bytes: [UInt8] = [4, 0, 1, 0]
        for _ in 1..<depth {
            let length = UInt16(bytes.count + 4)
            bytes = [UInt8(length & 0xff), UInt8(length >> 8), 1, 0x80] + bytes
        }
        var level = try NetlinkAttribute.decodeAll(bytes[...])
        var seen = 1
        while let child = level.first, child.isNested {
            level = try child.nested()
            seen += 1
        }
        #expect(seen == depth)
        // The same tree with the innermost length corrupted throws at the bottom.
        bytes[bytes.count - 4] = 200
        level = try NetlinkAttribute.decodeAll(bytes[...])
        var thrown: Error?
        do { while let child = level.first, child.isNested { level = try child.nested() } } catch { thrown = error }
        #expect(thrown is DecodeError)
    }

    @Test func mutatedKernelRepliesNeverTrap() {
        // A deterministic in-process fuzz over the recorded replies; the libFuzzer target
        // (fuzz/) does the same without a bound on time.
        var rng = SplitMix64(seed: 0x5eed)
        let seeds = [
            KernelFixtures.newlinkLo, KernelFixtures.dumpNeigh, KernelFixtures.dumpAddrs, KernelFixtures.dumpRoutes,
            KernelFixtures.dumpQdisc, KernelFixtures.errorCapped, KernelFixtures.errorUncapped, KernelFixtures.ack
        ]
        var decoded = 0
        var rejected = 0
        for i in 0..<20_000 {
            var b = seeds[i % seeds.count]
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                let at = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 4 {
                case 0: b[at] ^= UInt8(1 << (rng.next() % 8))
                case 1: b[at] = [0, 0xff, 0x7f, 0x80, 4, 3][Int(rng.next() % 6)]
                case 2: b.removeSubrange(at..<min(b.count, at + Int(rng.next() % 9)))
                default: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                }
                if b.isEmpty { b = [0] }
            }
            do {
                try DecodeEverything.datagram(b)
                decoded += 1
            } catch is DecodeError { rejected += 1 } catch {
                Issue.record("non-DecodeError \(error)")
            }
        }
        #expect(decoded > 0 && rejected > 0)
    }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Walks everything the codec can decode in a datagram: messages, error bodies, family
/// headers, attributes and their nests (depth-capped, as any real consumer is).
enum DecodeEverything {
    static func datagram(_ bytes: [UInt8]) throws {
        for m in try NetlinkMessage.decodeStream(bytes) {
            switch m.header.type {
            case NetlinkMessageType.error: _ = try NetlinkErrorMessage.decode(m)
            case RTM.NEWLINK...RTM.SETLINK: try attributes(IfInfoMessage.decode(m).1, depth: 0)
            case RTM.NEWADDR...RTM.GETADDR: try attributes(IfAddrMessage.decode(m).1, depth: 0)
            case RTM.NEWROUTE...RTM.GETROUTE: try attributes(RouteMessageHeader.decode(m).1, depth: 0)
            case RTM.NEWNEIGH...RTM.GETNEIGH: try attributes(NeighbourMessageHeader.decode(m).1, depth: 0)
            case RTM.NEWQDISC...RTM.GETTFILTER: try attributes(TcMessageHeader.decode(m).1, depth: 0)
            default: _ = try m.attributes(after: 0)
            }
        }
    }

    static func attributes(_ attrs: [NetlinkAttribute], depth: Int) throws {
        for a in attrs {
            _ = a.string()
            _ = try? a.u8()
            _ = try? a.u16()
            _ = try? a.u32()
            _ = try? a.u64()
            _ = IPAddress(bytes: a.payload)
            if depth < 8, a.isNested || a.payload.count >= 4 {
                // Payloads that are not nests may still look like one; only a flagged nest must parse.
                if a.isNested {
                    try attributes(a.nested(), depth: depth + 1)
                } else if let c = try? a.nested() {
                    try attributes(c, depth: depth + 1)
                }
            }
        }
    }
}
