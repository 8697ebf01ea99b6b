import CZlib
import Foundation
import SandnetCore

/// How a kernel option is set in a `.config`.
public enum OptionValue: String, Sendable, Codable, Equatable {
    /// `=y`: built into the kernel image.
    case builtIn = "y"
    /// `=m`: built as a loadable module.
    case module = "m"
    /// `# CONFIG_X is not set`, or not mentioned at all (its dependencies were off).
    case absent = "n"

    public var isEnabled: Bool { self != .absent }
}

/// A kernel configuration as `make` writes it: `CONFIG_X=y|m|"string"|number` lines and
/// `# CONFIG_X is not set` comments.
public struct KernelConfig: Sendable, Equatable {
    /// Option name without the `CONFIG_` prefix → its raw value (`y`, `m`, `"string"`, `42`).
    public private(set) var values: [String: String]
    /// Where it was read from (a path, or a description for a config given as text).
    public var source: String

    /// From the `# Linux/<arch> <version> Kernel Configuration` line `make` writes: `x86`
    /// (both widths), `arm64`...
    public var headerArchitecture: String?
    public var headerVersion: String?

    public init(values: [String: String], source: String, headerArchitecture: String? = nil, headerVersion: String? = nil) {
        self.values = values
        self.source = source
        self.headerArchitecture = headerArchitecture
        self.headerVersion = headerVersion
    }

    /// Parses `.config` text. Lines that are neither assignments nor "is not set"
    /// comments are ignored, as Kconfig itself does.
    public init(text: String, source: String) {
        var values: [String: String] = [:]
        var header: (String, String)?
        for line in text.split(whereSeparator: \.isNewline) {
            if header == nil, line.hasPrefix("# Linux/"), line.hasSuffix(" Kernel Configuration") {
                let words = line.dropFirst(8).split(separator: " ")
                if words.count >= 3 { header = (String(words[0]), String(words[1])) }
            } else if line.hasPrefix("CONFIG_"), let eq = line.firstIndex(of: "=") {
                let name = line[line.index(line.startIndex, offsetBy: 7)..<eq]
                values[String(name)] = String(line[line.index(after: eq)...])
            } else if line.hasPrefix("# CONFIG_"), line.hasSuffix(" is not set") {
                let name = line.dropFirst(9).dropLast(11)
                values[String(name)] = "n"
            }
        }
        self.init(values: values, source: source, headerArchitecture: header?.0, headerVersion: header?.1)
    }

    /// The architecture the kernel is built for, and how that was told: its options first
    /// (the header says `x86` for both widths), then the header.
    public var architecture: (Architecture, evidence: String)? {
        if self["ARM64"] == .builtIn { return (.arm64, "CONFIG_ARM64=y") }
        if self["X86_64"] == .builtIn { return (.x86_64, "CONFIG_X86_64=y") }
        if let h = headerArchitecture, let a = Architecture(parsing: h) { return (a, "its header (Linux/\(h))") }
        return nil
    }

    /// `CONFIG_NAME` as y/m/n. Accepts the name with or without `CONFIG_`.
    public subscript(_ name: String) -> OptionValue {
        switch values[Self.bare(name)] {
        case "y": return .builtIn
        case "m": return .module
        default: return .absent
        }
    }

    /// Kernels built without CONFIG_MODULES cannot load anything: every fix must be `=y`.
    public var modulesSupported: Bool { self["MODULES"] == .builtIn }

    /// A copy with `name` set to `value` (`.absent` writes "is not set"), as a test or an
    /// operator's "what if" would change a `.config`.
    public func setting(_ name: String, to value: OptionValue) -> KernelConfig {
        var copy = self
        copy.values[Self.bare(name)] = value.rawValue
        copy.source = "\(source) with CONFIG_\(Self.bare(name))=\(value.rawValue)"
        return copy
    }

    /// The `.config` text again (sorted), so a modified copy can be written out.
    public var text: String {
        values.keys.sorted().map { k in
            values[k] == "n" ? "# CONFIG_\(k) is not set" : "CONFIG_\(k)=\(values[k]!)"
        }.joined(separator: "\n") + "\n"
    }

    static func bare(_ name: String) -> String { name.hasPrefix("CONFIG_") ? String(name.dropFirst(7)) : name }
}

// MARK: - Loading

public enum KernelConfigError: Error, CustomStringConvertible, Equatable {
    case notFound(tried: [String])
    case unreadable(path: String, reason: String)
    case notAKernelConfiguration(path: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let tried):
            return "no kernel configuration found (tried \(tried.joined(separator: ", "))). Fix: pass --kernel-config FILE, "
                + "or enable CONFIG_IKCONFIG_PROC (for /proc/config.gz), or install the kernel's config in /boot"
        case .unreadable(let path, let reason):
            return "cannot read kernel configuration \(path): \(reason)"
        case .notAKernelConfiguration(let path, let reason):
            return "\(path) is not a kernel configuration: \(reason). Fix: pass the kernel's .config (or /proc/config.gz, "
                + "or /boot/config-RELEASE)"
        }
    }
}

extension KernelConfig {
    /// Where the running kernel's configuration usually is, in the order tried.
    public static func candidatePaths(release: String, root: String = "/") -> [String] {
        let r = root.hasSuffix("/") ? String(root.dropLast()) : root
        return ["\(r)/proc/config.gz", "\(r)/boot/config-\(release)", "\(r)/lib/modules/\(release)/build/.config"]
    }

    /// Reads a configuration file, gzip-compressed (detected by its magic bytes) or plain.
    public static func load(path: String) throws -> KernelConfig {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw KernelConfigError.unreadable(path: path, reason: "it is a directory")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KernelConfigError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        var bytes = [UInt8](data)
        if bytes.count >= 2, bytes[0] == 0x1f, bytes[1] == 0x8b { bytes = try gunzip(bytes, path: path) }
        if bytes.contains(0) {
            throw KernelConfigError.notAKernelConfiguration(path: path, reason: "it holds binary data (NUL bytes)")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        let config = KernelConfig(text: text, source: path)
        if config.values.isEmpty {
            throw KernelConfigError.notAKernelConfiguration(
                path: path, reason: "it has no CONFIG_NAME=value or \"# CONFIG_NAME is not set\" line")
        }
        return config
    }

    /// The running kernel's configuration from the first candidate path that exists.
    public static func loadRunning(release: String) throws -> KernelConfig {
        let tried = candidatePaths(release: release)
        for p in tried where FileManager.default.isReadableFile(atPath: p) {
            return try load(path: p)
        }
        throw KernelConfigError.notFound(tried: tried)
    }

    /// Inflates a gzip stream with zlib (windowBits 15+32: accept a gzip header).
    /// In-process rather than a `zcat` child, so it also works in a static binary in a
    /// guest that has no gzip tools.
    static func gunzip(_ input: [UInt8], path: String) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw KernelConfigError.unreadable(path: path, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 5)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var input = input
        var status: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(outBuf.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    output.append(contentsOf: outBuf[0..<(outBuf.count - Int(stream.avail_out))])
                }
            } while status == Z_OK
        }
        guard status == Z_STREAM_END else {
            throw KernelConfigError.unreadable(path: path, reason: "corrupt gzip data (zlib status \(status))")
        }
        return output
    }
}
