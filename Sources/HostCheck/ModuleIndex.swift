import Foundation

/// Where a kernel module stands on this system.
public enum ModuleState: Sendable, Equatable, Codable {
    /// Listed in modules.builtin: part of the kernel image. /sys/module misses built-in code
    /// without parameters (tun, macvtap, sch_ingress, cls_u32, act_mirred), so this list,
    /// not /sys/module, is the authority.
    case builtIn
    /// In /proc/modules.
    case loaded
    /// A .ko file exists under /lib/modules/RELEASE but it is not loaded.
    case onDisk(path: String)
    /// Nowhere: not built in, not loaded, no file.
    case missing

    public var isPresent: Bool {
        if case .missing = self { return false }
        if case .onDisk = self { return false }
        return true
    }

    // JSON: {"state": "built-in" | "loaded" | "on-disk" | "missing", "path": "…" (on-disk only)}.
    enum CodingKeys: String, CodingKey { case state, path }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .builtIn: try c.encode("built-in", forKey: .state)
        case .loaded: try c.encode("loaded", forKey: .state)
        case .onDisk(let path):
            try c.encode("on-disk", forKey: .state)
            try c.encode(path, forKey: .path)
        case .missing: try c.encode("missing", forKey: .state)
        }
    }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .state) {
        case "built-in": self = .builtIn
        case "loaded": self = .loaded
        case "on-disk": self = .onDisk(path: try c.decode(String.self, forKey: .path))
        default: self = .missing
        }
    }
}

/// The module tree of one kernel release: `modules.builtin`, `modules.alias`, the `.ko`
/// files, and for the running kernel what is loaded (`/proc/modules`, `/sys/module`).
public struct ModuleIndex: Sendable {
    public let release: String
    /// `/lib/modules/RELEASE` (or the same under another root, for an extracted package).
    public let directory: String
    /// Module names (with `_`, as the kernel spells them) built into the image.
    public let builtIn: Set<String>
    /// Module name → path of its .ko file.
    public let files: [String: String]
    /// Alias → module, exact aliases only (`net-pf-16-proto-12`, `rtnl-link-macvtap`, `devname:vhost-net`).
    public let aliases: [String: String]
    /// Loaded modules; empty when this is not the running kernel.
    public let loaded: Set<String>
    /// Whether `directory` exists at all.
    public let treePresent: Bool

    public init(
        release: String, directory: String, builtIn: Set<String>, files: [String: String],
        aliases: [String: String], loaded: Set<String>, treePresent: Bool
    ) {
        self.release = release
        self.directory = directory
        self.builtIn = builtIn
        self.files = files
        self.aliases = aliases
        self.loaded = loaded
        self.treePresent = treePresent
    }

    /// Reads `ROOT/lib/modules/RELEASE`; `running`: also read /proc/modules and /sys/module.
    public static func load(release: String, root: String = "/", running: Bool) -> ModuleIndex {
        let base = (root.hasSuffix("/") ? String(root.dropLast()) : root) + "/lib/modules/\(release)"
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let present = fm.fileExists(atPath: base, isDirectory: &isDir) && isDir.boolValue

        var builtIn: Set<String> = []
        if let text = try? String(contentsOfFile: base + "/modules.builtin", encoding: .utf8) {
            for line in text.split(whereSeparator: \.isNewline) { builtIn.insert(moduleName(fromPath: String(line))) }
        }
        var files: [String: String] = [:]
        if let text = try? String(contentsOfFile: base + "/modules.dep", encoding: .utf8) {
            for line in text.split(whereSeparator: \.isNewline) {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let rel = String(line[..<colon])
                files[moduleName(fromPath: rel)] = rel.hasPrefix("/") ? rel : base + "/" + rel
            }
        } else if present, let walker = fm.enumerator(atPath: base + "/kernel") {
            // No modules.dep (depmod never ran): walk the tree.
            for case let rel as String in walker where rel.contains(".ko") {
                files[moduleName(fromPath: rel)] = base + "/kernel/" + rel
            }
        }
        var aliases: [String: String] = [:]
        if let text = try? String(contentsOfFile: base + "/modules.alias", encoding: .utf8) {
            for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("alias ") {
                let parts = line.split(separator: " ")
                guard parts.count >= 3, !parts[1].contains("*"), !parts[1].contains("?") else { continue }
                aliases[String(parts[1])] = String(parts[2]).replacingOccurrences(of: "-", with: "_")
            }
        }
        var loaded: Set<String> = []
        if running, let text = try? String(contentsOfFile: "/proc/modules", encoding: .utf8) {
            for line in text.split(whereSeparator: \.isNewline) {
                if let name = line.split(separator: " ").first { loaded.insert(String(name)) }
            }
        }
        return ModuleIndex(
            release: release, directory: base, builtIn: builtIn, files: files, aliases: aliases,
            loaded: loaded, treePresent: present)
    }

    /// `kernel/net/netfilter/nfnetlink.ko.xz` → `nfnetlink`; dashes become underscores.
    static func moduleName(fromPath path: String) -> String {
        var name = Substring(path.split(separator: "/").last ?? Substring(path))
        if let ko = name.range(of: ".ko") { name = name[..<ko.lowerBound] }
        return name.replacingOccurrences(of: "-", with: "_")
    }

    public func state(of module: String) -> ModuleState {
        let m = module.replacingOccurrences(of: "-", with: "_")
        if builtIn.contains(m) { return .builtIn }
        if loaded.contains(m) { return .loaded }
        if let f = files[m] { return .onDisk(path: f) }
        return .missing
    }

    /// The module an alias names (`net-pf-16-proto-12` → `nfnetlink`), or nil.
    public func module(forAlias alias: String) -> String? { aliases[alias] }
}

/// Whether the kernel can load a module on demand at all, and through which helper.
public struct ModuleLoading: Sendable, Equatable, Codable {
    /// CONFIG_MODULES.
    public var supported: Bool
    /// /proc/sys/kernel/modprobe: the helper the kernel runs to autoload (empty: disabled).
    public var helper: String?
    /// Whether that helper exists as a file.
    public var helperPresent: Bool
    /// /proc/sys/kernel/modules_disabled is 1: no module can be loaded until reboot.
    public var disabled: Bool

    /// Autoload (the kernel calling modprobe for an alias) can work.
    public var autoloadPossible: Bool { supported && !disabled && helperPresent }

    public static func running(config: KernelConfig?) -> ModuleLoading {
        let helper = (try? String(contentsOfFile: "/proc/sys/kernel/modprobe", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let disabled =
            (try? String(contentsOfFile: "/proc/sys/kernel/modules_disabled", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) == "1"
        // /proc/sys/kernel/modprobe exists only with CONFIG_MODULES: a second witness when
        // the config is unknown.
        let supported = config?.modulesSupported ?? (helper != nil)
        let present = helper.map { !$0.isEmpty && FileManager.default.isExecutableFile(atPath: $0) } ?? false
        return ModuleLoading(supported: supported, helper: helper, helperPresent: present, disabled: disabled)
    }
}
