import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The deeper KVM probe: boots a small Linux guest (a kernel and an initrd that print to the
/// serial console) under `qemu-system-<arch> -accel kvm` and waits, bounded, for it to reach
/// user space. It sees what the small probe cannot (a whole kernel's boot path, QEMU's own
/// KVM use); it costs seconds and needs QEMU and an image on the node.
public struct KVMBootProbe: Sendable {
    /// Holds `vmlinuz` and `initrd.img` (the test lab's guest images are such directories).
    public var imageDirectory: String
    public var qemu: String
    public var machine: String
    public var timeoutSeconds: Double

    public static func defaultImage(for arch: String) -> String { "/var/cache/sandnet/guest/\(arch)" }

    public init(imageDirectory: String, arch: String = HostCheck.uname().machine, timeoutSeconds: Double = 60) {
        self.imageDirectory = imageDirectory
        self.qemu = "qemu-system-\(arch)"
        self.machine = arch == "aarch64" ? "virt,gic-version=host" : "q35"
        self.timeoutSeconds = timeoutSeconds
    }

    /// Console lines that show how far the guest got, in boot order: the x86 setup code's
    /// early console (real mode, before the decompressor), the decompressed kernel, user space.
    static let markers = ["Probing EDD", "Linux version", "Run /init", "SANDNET-STAGE init"]
    static let userSpace = ["Run /init", "SANDNET-STAGE init"]

    public func run() -> KVMBootProbeResult {
        let serial = NSTemporaryDirectory() + "sandnet-kvm-boot-\(getpid()).serial"
        defer { unlink(serial) }
        let argv = [
            qemu, "-M", machine, "-accel", "kvm", "-cpu", "host", "-smp", "1", "-m", "512", "-vga", "none", "-display", "none",
            "-monitor", "none", "-serial", "file:\(serial)", "-no-reboot", "-nic", "none",
            "-kernel", imageDirectory + "/vmlinuz", "-initrd", imageDirectory + "/initrd.img",
            "-append", machine == "q35" ? "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1" : "console=ttyAMA0 panic=-1"
        ]
        var result = KVMBootProbeResult(
            command: argv, timeoutSeconds: timeoutSeconds, elapsedSeconds: 0, reached: [], booted: false, error: nil, consoleTail: "")
        for f in ["vmlinuz", "initrd.img"] where !FileManager.default.isReadableFile(atPath: "\(imageDirectory)/\(f)") {
            result.error =
                "no guest image: \(imageDirectory)/\(f) is missing (give --kvm-boot-image a directory with a kernel, vmlinuz, and an initrd, initrd.img)"
            return result
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        let start = Date()
        do { try process.run() } catch {
            result.error = "cannot start \(qemu): \(error)"
            return result
        }
        var console = ""
        while process.isRunning && Date().timeIntervalSince(start) < timeoutSeconds {
            usleep(200_000)
            console = String(decoding: readAll(serial), as: UTF8.self)
            if Self.userSpace.contains(where: console.contains) { break }
        }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        result.elapsedSeconds = Date().timeIntervalSince(start)
        console = String(decoding: readAll(serial), as: UTF8.self).replacingOccurrences(of: "\r", with: "")
        result.reached = Self.markers.filter(console.contains)
        result.booted = Self.userSpace.contains(where: result.reached.contains)
        result.consoleTail = console.split(separator: "\n").suffix(5).joined(separator: "\n")
        if !result.booted, process.terminationReason == .exit, process.terminationStatus != 0 {
            let stderr = String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
            result.error = "\(qemu) exited with status \(process.terminationStatus): \(stderr.prefix(300))"
        }
        return result
    }

    func readAll(_ path: String) -> [UInt8] {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
    }
}
