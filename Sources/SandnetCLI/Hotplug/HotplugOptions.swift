import ArgumentParser
import Foundation
import Logging
import Qmp
import SandboxNetwork

/// What plug, unplug and watch share: the sandbox, its QMP socket, the state directory.
struct HotplugOptions: ParsableArguments {
    @Option(help: "Sandbox id given to attach.") var sandbox: String
    @Option(help: "QEMU's QMP socket (-qmp unix:PATH,server=on,wait=off).") var qmp: String
    @Option(name: .customLong("state-dir"), help: "Journal directory (default /run/sandnet, or $SANDNET_STATE_DIR).")
    var stateDir: String?
    @Option(name: .customLong("unplug-timeout"), help: "Seconds to wait for the guest to release a NIC.")
    var unplugTimeout: Int = 10
    @Option(
        name: .customLong("guest-channel"),
        help: "QEMU's chardev socket of the guest channel (docs/guest-channel.md); without it the guest is not told.")
    var guestChannel: String?
    @Option(name: .customLong("channel-timeout"), help: "Seconds the guest has to acknowledge a channel change.")
    var channelTimeout: Int = 10

    func validate() throws {
        guard channelTimeout >= 1, channelTimeout <= 600 else {
            throw ValidationError("--channel-timeout is a number of seconds from 1 to 600, not \(channelTimeout)")
        }
        guard unplugTimeout >= 1, unplugTimeout <= 600 else {
            throw ValidationError("--unplug-timeout is a number of seconds from 1 to 600, not \(unplugTimeout)")
        }
    }

    /// Connected to QEMU; the caller closes `driver.qmp`.
    func driver(label: String) throws -> HotplugDriver {
        let client = try QmpClient(path: qmp)
        var d = HotplugDriver(
            sandbox: sandbox, store: JournalStore(directory: stateDir), qmp: client,
            guest: guestChannel.map(GuestChannelSender.init(path:)),
            logger: Logger(label: label))
        d.unplugTimeout = .seconds(unplugTimeout)
        d.channelTimeout = .seconds(channelTimeout)
        return d
    }
}
