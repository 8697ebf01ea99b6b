/// Rates written the way tc(8) takes them: a number and a unit, `50mbit`, `6.25MBps`,
/// `1gibit`. `bit` and a bare number are bits per second, `bps` bytes per second (tc's
/// spelling); `k`, `m`, `g`, `t` are powers of 1000, `ki`, `mi`, `gi`, `ti` powers of 1024.
public enum TcRate {
    /// Bits per second, or nil when the text is no rate tc would take, or is zero or too large.
    public static func bitsPerSecond(_ text: String) -> UInt64? {
        let t = text.lowercased()
        let digits = t.prefix { $0.isNumber || $0 == "." }
        guard !digits.isEmpty, let value = Double(digits), value > 0 else { return nil }
        let unit = t.dropFirst(digits.count)
        guard let multiplier = multipliers[String(unit)] else { return nil }
        let bits = value * multiplier
        guard bits >= 1, bits < 1.8e19 else { return nil }
        return UInt64(bits.rounded())
    }

    /// tc's own spelling of a rate in bits per second (`50Mbit`), as `tc -s class show` prints it.
    public static func text(bitsPerSecond b: UInt64) -> String {
        for (unit, m) in [("Tbit", 1e12), ("Gbit", 1e9), ("Mbit", 1e6), ("Kbit", 1e3)] where Double(b) >= m {
            let v = Double(b) / m
            return v == v.rounded() ? "\(Int(v))\(unit)" : "\(v)\(unit)"
        }
        return "\(b)bit"
    }

    private static let multipliers: [String: Double] = {
        var m: [String: Double] = ["": 1, "bit": 1, "bps": 8]
        for (p, f) in [("k", 1e3), ("m", 1e6), ("g", 1e9), ("t", 1e12)] {
            m[p + "bit"] = f
            m[p + "bps"] = f * 8
        }
        for (p, f) in [("ki", 1024.0), ("mi", 1_048_576.0), ("gi", 1_073_741_824.0), ("ti", 1_099_511_627_776.0)] {
            m[p + "bit"] = f
            m[p + "bps"] = f * 8
        }
        return m
    }()
}
