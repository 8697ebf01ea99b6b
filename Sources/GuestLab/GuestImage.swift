import Foundation
import ProcessRunner
import QemuWiring
import SandnetCore

/// A test guest's kernel and initramfs, built by scripts/guest/build-image.sh from Debian
/// packages and cached under `${SANDNET_CACHE:-/var/cache/sandnet}/guest/<arch>/`.
public struct GuestImage: Sendable, Equatable {
    public var architecture: Architecture
    public var kernel: String
    public var initrd: String

    public static var cacheDirectory: String {
        ProcessInfo.processInfo.environment["SANDNET_CACHE"] ?? "/var/cache/sandnet"
    }

    /// The image directory for `architecture` (the build script's name for it).
    public static func directory(for architecture: Architecture) -> String {
        "\(cacheDirectory)/guest/\(architecture.unameMachine)"
    }

    /// The cached image, when both files are there (not verified: `prepare` verifies).
    public static func cached(_ architecture: Architecture) -> GuestImage? {
        let dir = directory(for: architecture)
        let image = GuestImage(architecture: architecture, kernel: "\(dir)/vmlinuz", initrd: "\(dir)/initrd.img")
        let fm = FileManager.default
        return fm.fileExists(atPath: image.kernel) && fm.fileExists(atPath: image.initrd) ? image : nil
    }

    /// Why no guest can boot for `architecture` here, or nil when one can.
    public static func unavailableReason(_ architecture: Architecture) -> String? {
        if cached(architecture) == nil {
            return
                "no \(architecture.unameMachine) guest image in \(directory(for: architecture)): run scripts/setup.sh (or scripts/guest/build-image.sh \(architecture.unameMachine))"
        }
        if QemuLocator.path(of: architecture.qemuBinary) == nil {
            return "\(architecture.qemuBinary) is not installed: run scripts/setup.sh"
        }
        return nil
    }

    /// scripts/guest/build-image.sh: $SANDNET_GUEST_SCRIPTS, else the one in this source tree.
    public static var buildScript: String {
        if let dir = ProcessInfo.processInfo.environment["SANDNET_GUEST_SCRIPTS"] { return "\(dir)/build-image.sh" }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("scripts/guest/build-image.sh").path
    }

    /// Builds the image, or checks the cached one against its checksums and inputs (the
    /// script is idempotent). `log` gets the script's progress lines.
    public static func prepare(_ architecture: Architecture, log: @escaping @Sendable (String) -> Void = { _ in }) throws -> GuestImage {
        let script = buildScript
        guard FileManager.default.isExecutableFile(atPath: script) else {
            throw GuestLabError.imageUnavailable(architecture: architecture.unameMachine, reason: "the build script \(script) is missing")
        }
        // A first build downloads Debian packages and packs an initramfs: minutes, not hours.
        let r = try ProcessRunner.run([script, architecture.unameMachine], timeout: .seconds(1800))
        var tail: [String] = []
        for line in r.stderrText.split(separator: "\n") {
            log(String(line))
            tail.append(String(line))
        }
        guard r.succeeded, let image = cached(architecture) else {
            throw GuestLabError.imageUnavailable(
                architecture: architecture.unameMachine,
                reason: "\(script) \(architecture.unameMachine) failed: \(tail.suffix(3).joined(separator: " / "))")
        }
        return image
    }
}

extension Architecture {
    /// The guest kernel's serial console device.
    public var serialConsole: String {
        switch self {
        case .x86_64: return "ttyS0"
        case .arm64: return "ttyAMA0"
        }
    }
}

enum QemuLocator {
    /// `name` looked up in PATH, or nil.
    static func path(of name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return dirs.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
