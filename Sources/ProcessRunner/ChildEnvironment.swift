#if canImport(Glibc)
    import Glibc
#endif

/// The environment a child starts with.
public enum ChildEnvironment: Sendable, Equatable {
    /// This process's environment, unchanged.
    case inherit
    /// This process's environment with these variables set (replacing same-named ones).
    case adding([String: String])
    /// Exactly these variables and nothing else (CNI plugins get only their parameters).
    case exactly([String: String])

    /// The resolved variables.
    var variables: [String: String] {
        switch self {
        case .inherit: return Self.current
        case .adding(let extra): return Self.current.merging(extra) { $1 }
        case .exactly(let vars): return vars
        }
    }

    /// `NAME=value` strings of this process's environment, read from `environ`.
    static var current: [String: String] {
        var vars: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { vars[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return vars
    }
}
