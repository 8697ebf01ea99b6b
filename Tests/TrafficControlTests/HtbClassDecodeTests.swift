import NetlinkCodec
import Testing

@testable import TrafficControl

/// An htb class whose buffer and rate multiply past 2^64 (found by fuzz/ fuzz-tc; the input
/// is fuzz/corpus/crash-htb-burst-overflow.bin): printing it trapped in burstBytes.
@Suite struct HtbClassDecodeTests {
    @Test func burstOfHugeBufferAtHugeRateSaturates() throws {
        var parms = ByteWriter() // struct tc_htb_opt: rate, ceil (tc_ratespec), buffer, cbuffer, quantum, level, prio
        for rate: UInt32 in [.max, 1] {
            parms.u8(0)
            parms.u8(1)
            parms.u16(0)
            parms.u16(0xffff)
            parms.u16(0)
            parms.u32(rate)
        }
        parms.u32(.max)
        parms.u32(1)
        parms.u32(0)
        parms.u32(0)
        parms.u32(0)
        var a = AttributeWriter()
        a.add(TCA.KIND, string: "htb")
        a.nest(TCA.OPTIONS) { o in
            o.add(TCA_HTB.PARMS, parms.bytes)
            o.add(TCA_HTB.RATE64, u64: .max)
            o.add(TCA_HTB.CEIL64, u64: .max)
        }
        let m = NetlinkMessage(
            type: RTM.NEWTCLASS, flags: [], body: TcMessageHeader(index: 2, handle: 0x10010, parent: 0x10000).bytes, attributes: a)
        let received = try #require(try NetlinkMessage.decodeStream(m.encode(sequence: 1, portID: 0)).first)
        let htb = try #require(try TrafficClass.decode(received).htb)
        #expect(htb.burstBytes == .max)
        #expect(htb.ceilBits == .max)
        // One tick at UInt64.max bytes/s: 64 × (2^64 − 1) ns·B/s, past 2^64 before the division, not after.
        #expect(htb.cburstBytes == 1_180_591_620_717)
        #expect(htb.rateBits == .max)
    }

    @Test func burstOfOrdinaryClassIsUnchanged() {
        // 1600 bytes at 10 mbit/s (1.25 MB/s): 20000 ticks of 64 ns, back to 1600 bytes.
        let ticks = HtbTicks.ticks(bytes: 1600, bytesPerSecond: 1_250_000)
        #expect(HtbTicks.bytes(ticks: ticks, bytesPerSecond: 1_250_000) == 1600)
    }
}
