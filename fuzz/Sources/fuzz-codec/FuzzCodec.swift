// libFuzzer target for the netlink codec: the datagram stream, the family headers, the
// attribute parser and every scalar reader. Any trap (bounds, overflow) or ASan report is
// a crash; a DecodeError is the correct answer to bad bytes.

import FuzzSupport
import NetlinkCodec
import SandnetCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecode(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        for message in try NetlinkMessage.decodeStream(bytes) {
            try decodeBody(message)
        }
    } catch is DecodeError {
        // expected for hostile input
    } catch {
        fatalError("decoder threw something other than DecodeError: \(error)")
    }
    // The attribute parser on its own, over the raw bytes (every offset class mod 4).
    for start in 0..<min(4, bytes.count) {
        walk(try? NetlinkAttribute.decodeAll(bytes[start...]), depth: 0)
        agree(bytes[start...], depth: 0)
    }
    return 0
}

/// The in-place cursor the typed decoders use must give the attributes `decodeAll` gives,
/// or throw the same error, and its readers must read what the array's readers read.
private func agree(_ bytes: ArraySlice<UInt8>, depth: Int) {
    let viaArray = Result { try NetlinkAttribute.decodeAll(bytes) }
    bytes.withUnsafeBytes { raw in
        let viaCursor = Result { () throws -> [NetlinkAttribute] in
            var c = try AttributeCursor(raw).checked()
            var out: [NetlinkAttribute] = []
            while let a = try c.next() {
                precondition(a.string() == a.attribute.string(), "cursor string differs")
                precondition(
                    (try? a.u32()) == (try? a.attribute.u32()) && (try? a.u64()) == (try? a.attribute.u64()), "cursor reader differs")
                precondition(IPAddress(bytes: a.payload) == IPAddress(bytes: a.attribute.payload), "cursor address differs")
                precondition(MACAddress(bytes: a.payload) == MACAddress(bytes: a.attribute.payload), "cursor MAC differs")
                out.append(a.attribute)
            }
            return out
        }
        switch (viaArray, viaCursor) {
        case (.success(let x), .success(let y)): precondition(x == y, "cursor and decodeAll disagree")
        case (.failure(let x), .failure(let y)):
            precondition(x as? DecodeError == y as? DecodeError, "cursor and decodeAll throw differently")
        default: preconditionFailure("cursor and decodeAll disagree on whether the run is valid")
        }
    }
    if depth < 4, case .success(let attrs) = viaArray {
        for a in attrs where a.isNested { agree(a.payloadSlice, depth: depth + 1) }
    }
}

private func decodeBody(_ m: NetlinkMessage) throws {
    switch m.header.type {
    case NetlinkMessageType.error: use(try NetlinkErrorMessage.decode(m))
    case NetlinkMessageType.done: use(try m.attributes(after: 4))
    case RTM.NEWLINK...RTM.SETLINK: walk(try IfInfoMessage.decode(m).1, depth: 0)
    case RTM.NEWADDR...RTM.GETADDR: walk(try IfAddrMessage.decode(m).1, depth: 0)
    case RTM.NEWROUTE...RTM.GETROUTE: walk(try RouteMessageHeader.decode(m).1, depth: 0)
    case RTM.NEWNEIGH...RTM.GETNEIGH: walk(try NeighbourMessageHeader.decode(m).1, depth: 0)
    case RTM.NEWQDISC...RTM.GETACTION: walk(try TcMessageHeader.decode(m).1, depth: 0)
    default: walk(try m.attributes(after: Int(m.header.flags.rawValue & 0x1f)), depth: 0)
    }
    // Re-emitting what was decoded must give back the same message bytes.
    let again = try NetlinkMessage.decodeStream(m.encode(sequence: m.header.sequence, portID: m.header.portID))
    precondition(again.count == 1 && again[0].payload == m.payload, "message did not survive a re-encode")
}

/// Reads every attribute every way a consumer might, and descends into anything that
/// parses as a nest, up to a depth any real message needs.
private func walk(_ attrs: [NetlinkAttribute]?, depth: Int) {
    guard let attrs, depth < 12 else { return }
    for a in attrs {
        use((a.string(), try? a.u8(), try? a.u16(), try? a.u32(), try? a.u64(), try? a.be16(), try? a.be32()))
        if let ip = IPAddress(bytes: a.payload) { use(ip.description) }
        // The view (offset into the datagram) must read the same as the copy.
        precondition(IPAddress(bytes: a.payloadSlice) == IPAddress(bytes: a.payload), "address view differs from its copy")
        use(MACAddress(bytes: a.payload).description)
        var w = ByteWriter()
        a.encode(into: &w)
        precondition(
            Array(w.bytes.prefix(4 + a.payload.count)).dropFirst(4).elementsEqual(a.payload), "attribute did not survive a re-encode")
        walk(try? a.nested(), depth: depth + 1)
    }
}
