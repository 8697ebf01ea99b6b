// libFuzzer target for GuestDescription.decode, what a guest-side reader (and `sandnet`
// tests) run on the document: it may only throw DecodingError (bad JSON, bad fields) or
// GuestDescriptionError (a version it does not know). A document it accepts must come
// back the same after `encoded()` (what attach writes) and a second decode. The same bytes
// also go through dnsLines(fromResolvConf:), which reads the host's resolv.conf.

import Foundation
import FuzzSupport
import SandboxNetwork

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGuestDescription(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    use(GuestDescription.dnsLines(fromResolvConf: String(decoding: bytes, as: UTF8.self)))
    guard let d = decode(bytes) else { return 0 }
    use(String(describing: d))
    let encoded: Data
    do { encoded = try d.encoded() } catch { fatalError("accepted guest description cannot be encoded: \(error)") }
    let again = decode(encoded)
    require(again == d, "guest description does not survive encoded(): \(d) became \(String(describing: again))")
    return 0
}

private func decode(_ data: Data) -> GuestDescription? {
    do { return try GuestDescription.decode(data) } catch is DecodingError { return nil } catch is GuestDescriptionError {
        return nil
    } catch {
        fatalError("GuestDescription.decode threw \(type(of: error)) (\(error)), not DecodingError or GuestDescriptionError")
    }
}
