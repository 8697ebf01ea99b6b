import Foundation
import SandboxNetwork

/// Sends the interfaces held back from the boot-time description over the guest channel
/// when the guest init says it listens (`SANDNET-STAGE channel listening`), once.
struct ChannelDelivery {
    let interfaces: [GuestInterface]
    let socket: String
    private(set) var failure: Error?
    private var sent = false

    init(interfaces: [GuestInterface], socket: String) {
        self.interfaces = interfaces
        self.socket = socket
    }

    mutating func observe(_ p: GuestProgress, log: (String) -> Void) {
        guard case .stage(let s) = p, s.hasPrefix("channel listening"), !sent else { return }
        sent = true
        let sender = GuestChannelSender(path: socket)
        for i in interfaces {
            log("guest channel: add-interface \(i.name) \(i.mac) \(i.addresses.map(\.description).joined(separator: ","))")
            do {
                let ack = try sender.send(.addInterface(i), timeout: .seconds(60))
                log("guest channel: the guest acknowledged add-interface \(i.name) (seq \(ack.seq))")
            } catch {
                failure = failure ?? error
                return
            }
        }
    }
}
