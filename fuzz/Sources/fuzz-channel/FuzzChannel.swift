// libFuzzer target for the lines sandnet reads from a VM: QMP messages (QmpCodec.decode,
// behind QmpLineBuffer's framing) and the guest channel, whose guest side is not trusted
// (GuestChannelCodec.decodeReply; decodeChange, what a guest agent runs). Each decoder may
// only throw its own typed error, which the type system already holds it to; the target
// looks for traps, and checks that an accepted change survives encode and a second decode.

import Foundation
import FuzzSupport
import Qmp
import SandboxNetwork

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChannel(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    var buffer = QmpLineBuffer(maximumLineLength: 4096)
    buffer.append(fuzzInput(data, size))
    var lines: [Data] = []
    while let line = try? buffer.nextLine() { lines.append(line) }
    for line in lines + [bytes] {
        if let m = try? QmpCodec.decode(line: line) { use(String(describing: m)) }
        if let r = try? GuestChannelCodec.decodeReply(line) {
            use(String(describing: r))
            if case .ack(let a) = r {
                require(
                    (try? GuestChannelCodec.decodeReply(GuestChannelCodec.encode(r).dropLast())) == r,
                    "ack does not survive encode: \(a)")
            }
        }
        if let c = try? GuestChannelCodec.decodeChange(line) {
            let again = try? GuestChannelCodec.decodeChange(GuestChannelCodec.encode(c).dropLast())
            require(again == c, "guest change does not survive encode: \(c) became \(String(describing: again))")
        }
    }
    return 0
}
