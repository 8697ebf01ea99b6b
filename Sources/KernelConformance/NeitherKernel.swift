/// Checks that neither the host kernel nor the lab's Debian 6.1 cloud kernel can run, by
/// name, each with why. A check that skips in both places and is not listed here fails the
/// lab run. Empty today: the lab kernel has every feature the catalog needs.
public enum NeitherKernel {
    public static let checks: [String: String] = [:]
}
