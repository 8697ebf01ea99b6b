import Foundation
import GuestLab
import ProcessRunner
import SandnetCore

/// Whether the cached guest image serves the guest channel: it must be built from this
/// tree's scripts/guest/init (channel_serve, virtio_console). An image built from an older
/// init boots but never listens, so those tests skip, saying how to rebuild, instead of timing out.
enum ChannelImage {
    static func unavailableReason(_ arch: Architecture) -> String? {
        if let r = GuestImage.unavailableReason(arch) { return r }
        let script = URL(fileURLWithPath: GuestImage.buildScript).deletingLastPathComponent().appendingPathComponent("init").path
        let inputs = (try? String(contentsOfFile: "\(GuestImage.directory(for: arch))/inputs", encoding: .utf8)) ?? ""
        guard let r = try? ProcessRunner.run(["sha256sum", script], timeout: .seconds(30)), r.succeeded,
            let sum = r.stdoutText.split(separator: " ").first
        else { return "cannot checksum \(script)" }
        let built = inputs.split(separator: "\n").first { $0.hasSuffix("  init") }?.split(separator: " ").first
        guard built == sum else {
            return
                "the \(arch.unameMachine) guest image was built from another scripts/guest/init (no guest channel): run scripts/guest/build-image.sh \(arch.unameMachine)"
        }
        return nil
    }
}
