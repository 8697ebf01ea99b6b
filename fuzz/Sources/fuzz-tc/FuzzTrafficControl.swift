// libFuzzer target for the typed tc decoders: Qdisc (htb options, blocks), TrafficClass
// (htb parameters, 64-bit rates), Filter (u32 with its selector, matchall, flower) and the
// action lists under them (mirred, gact). The input is a datagram as the kernel sends it;
// each message goes to the decoder its type names, as the dump readers do. A DecodeError
// is the right answer to bad bytes. Beyond that: what `sandnet qdisc/class/filter list`
// prints from a value must not trap, and a decoded selector or action list re-encodes to
// bytes that decode to the same thing.

import FuzzSupport
import NetlinkCodec
import SandnetCore
import TrafficControl

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTrafficControl(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzInput(data, size)
    guard let messages = expecting(DecodeError.self, "decodeStream", { try NetlinkMessage.decodeStream(bytes) }) else { return 0 }
    for m in messages {
        switch m.header.type {
        case RTM.NEWQDISC, RTM.DELQDISC:
            guard let q = expecting(DecodeError.self, "Qdisc.decode", { try Qdisc.decode(m) }) else { continue }
            use((q.isRoot, q.handle.description, q.parent.description, q.htb?.versionText))
            exercise(q, "Qdisc.decode")
        case RTM.NEWTCLASS, RTM.DELTCLASS:
            guard let c = expecting(DecodeError.self, "TrafficClass.decode", { try TrafficClass.decode(m) }) else { continue }
            if let h = c.htb { use((h.rateBits, h.ceilBits, h.burstBytes, h.cburstBytes)) } // what `class list` prints
            use((c.classID.description, c.parent.description, c.leaf.description))
            exercise(c, "TrafficClass.decode")
        case RTM.NEWTFILTER, RTM.DELTFILTER:
            guard let f = expecting(DecodeError.self, "Filter.decode", { try Filter.decode(m) }) else { continue }
            check(f)
        default:
            continue
        }
    }
    // The selector decoder on its own, over the raw bytes: a TCA_U32_SEL payload of any length.
    if let s = expecting(DecodeError.self, "U32Selector.decode", { try U32Selector.decode(bytes) }) { checkRoundTrip(s) }
    return 0
}

private func check(_ f: Filter) {
    use((f.protocolName, f.notInHardware, f.skipHardware, f.parent.description, f.classID?.description))
    if let u = f.u32 {
        use((U32Info.handleText(f.handle), u.keyHashTable, u.bucket, u.link.map(U32Info.handleText)))
        if let s = u.selector { checkRoundTrip(s) }
    }
    for a in f.actions { use((a.action.kindName, String(describing: a.action))) }
    exercise(f, "Filter.decode")
    // Encoding the decoded actions and decoding them again gives the same actions back
    // (index and reference counts are the kernel's, not part of the encoding).
    var w = AttributeWriter()
    w.nest(TCA_U32.ACT) { ActionCodec.encode(f.actions.map(\.action), into: &$0) }
    let again = expecting(DecodeError.self, "ActionCodec.decode of re-encoded actions") {
        try ActionCodec.decode(try NetlinkAttribute.decodeAll(w.bytes[...])[0])
    }
    require(
        again?.map(\.action) == f.actions.map(\.action) && again?.map(\.order) == f.actions.indices.map { UInt16($0 + 1) },
        "actions \(f.actions) re-encoded decode to \(String(describing: again))")
}

private func checkRoundTrip(_ s: U32Selector) {
    exercise(s, "U32Selector.decode")
    let again = expecting(DecodeError.self, "U32Selector.decode of re-encoded selector") { try U32Selector.decode(s.bytes) }
    require(again == s, "selector \(s) re-encoded decodes to \(String(describing: again))")
}
