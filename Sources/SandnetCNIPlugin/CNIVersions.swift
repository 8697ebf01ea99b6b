/// The specification versions sandnet-cni speaks: the ones with chaining (prevResult)
/// and CHECK. STATUS and GC exist from 1.1.0 on.
public enum CNIVersions {
    public static let supported = ["0.4.0", "1.0.0", "1.1.0"]
    public static let latest = "1.1.0"

    /// "1.1.0" -> (1, 1, 0); nil for text that is no version.
    static func parts(_ v: String) -> [Int]? {
        let p = v.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard p.count == 3, p.allSatisfy({ $0 != nil }) else { return nil }
        return p.map { $0! }
    }

    /// Whether `v` is at least `minimum`, both as the specification writes them.
    static func atLeast(_ v: String, _ minimum: String) -> Bool {
        guard let a = parts(v), let b = parts(minimum) else { return false }
        return a.lexicographicallyPrecedes(b) == false
    }

    /// 0.4.0 results carry `"version": "4"|"6"` on each IP; 1.0.0 dropped it.
    static func ipsCarryVersion(_ v: String) -> Bool { !atLeast(v, "1.0.0") }
}
