/// Netlink protocol families (NETLINK_* in <linux/netlink.h>) and the kernel option
/// that provides each, so a refusal can name its fix.
public enum NetlinkProtocol: Int32, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case route = 0          // NETLINK_ROUTE
    case sockDiag = 4       // NETLINK_SOCK_DIAG
    case xfrm = 6           // NETLINK_XFRM
    case selinux = 7        // NETLINK_SELINUX
    case audit = 9          // NETLINK_AUDIT
    case netfilter = 12     // NETLINK_NETFILTER
    case kobjectUevent = 15 // NETLINK_KOBJECT_UEVENT
    case generic = 16       // NETLINK_GENERIC

    public var kernelName: String {
        switch self {
        case .route: return "NETLINK_ROUTE"
        case .sockDiag: return "NETLINK_SOCK_DIAG"
        case .xfrm: return "NETLINK_XFRM"
        case .selinux: return "NETLINK_SELINUX"
        case .audit: return "NETLINK_AUDIT"
        case .netfilter: return "NETLINK_NETFILTER"
        case .kobjectUevent: return "NETLINK_KOBJECT_UEVENT"
        case .generic: return "NETLINK_GENERIC"
        }
    }
    public var description: String { kernelName }

    /// The Kconfig option that registers this family, or nil when it is always present.
    public var kernelOption: String? {
        switch self {
        case .route, .generic, .kobjectUevent: return nil   // core networking
        case .sockDiag: return "CONFIG_INET_DIAG"
        case .xfrm: return "CONFIG_XFRM_USER"
        case .selinux: return "CONFIG_SECURITY_SELINUX"
        case .audit: return "CONFIG_AUDIT"
        case .netfilter: return "CONFIG_NETFILTER_NETLINK"
        }
    }
    /// The module that registers the family when the option is =m (autoloaded through
    /// the alias `net-pf-16-proto-N`).
    public var moduleName: String? {
        switch self {
        case .sockDiag: return "inet_diag"
        case .xfrm: return "xfrm_user"
        case .netfilter: return "nfnetlink"
        default: return nil
        }
    }
    public var moduleAlias: String { "net-pf-16-proto-\(rawValue)" }
}
