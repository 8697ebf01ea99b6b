/// Netlink protocol families (NETLINK_* in <linux/netlink.h>) and the kernel option
/// that provides each, so a refusal can name its fix.
public enum NetlinkProtocol: Int32, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case route = 0 // NETLINK_ROUTE
    case userSock = 2 // NETLINK_USERSOCK
    case sockDiag = 4 // NETLINK_SOCK_DIAG
    case xfrm = 6 // NETLINK_XFRM
    case selinux = 7 // NETLINK_SELINUX
    case iscsi = 8 // NETLINK_ISCSI
    case audit = 9 // NETLINK_AUDIT
    case fibLookup = 10 // NETLINK_FIB_LOOKUP
    case connector = 11 // NETLINK_CONNECTOR
    case netfilter = 12 // NETLINK_NETFILTER
    case kobjectUevent = 15 // NETLINK_KOBJECT_UEVENT
    case generic = 16 // NETLINK_GENERIC
    case scsiTransport = 18 // NETLINK_SCSITRANSPORT
    case rdma = 20 // NETLINK_RDMA
    case crypto = 21 // NETLINK_CRYPTO

    public var kernelName: String {
        switch self {
        case .route: return "NETLINK_ROUTE"
        case .userSock: return "NETLINK_USERSOCK"
        case .sockDiag: return "NETLINK_SOCK_DIAG"
        case .xfrm: return "NETLINK_XFRM"
        case .selinux: return "NETLINK_SELINUX"
        case .iscsi: return "NETLINK_ISCSI"
        case .audit: return "NETLINK_AUDIT"
        case .fibLookup: return "NETLINK_FIB_LOOKUP"
        case .connector: return "NETLINK_CONNECTOR"
        case .netfilter: return "NETLINK_NETFILTER"
        case .kobjectUevent: return "NETLINK_KOBJECT_UEVENT"
        case .generic: return "NETLINK_GENERIC"
        case .scsiTransport: return "NETLINK_SCSITRANSPORT"
        case .rdma: return "NETLINK_RDMA"
        case .crypto: return "NETLINK_CRYPTO"
        }
    }
    public var description: String { kernelName }

    /// The Kconfig option that registers this family, or nil when it is always present.
    public var kernelOption: String? {
        switch self {
        case .route, .generic, .kobjectUevent, .userSock: return nil // core networking
        case .fibLookup: return "CONFIG_INET"
        case .sockDiag: return "CONFIG_INET_DIAG"
        case .xfrm: return "CONFIG_XFRM_USER"
        case .selinux: return "CONFIG_SECURITY_SELINUX"
        case .iscsi: return "CONFIG_SCSI_ISCSI_ATTRS"
        case .audit: return "CONFIG_AUDIT"
        case .connector: return "CONFIG_CONNECTOR"
        case .netfilter: return "CONFIG_NETFILTER_NETLINK"
        case .scsiTransport: return "CONFIG_SCSI_NETLINK"
        case .rdma: return "CONFIG_INFINIBAND"
        case .crypto: return "CONFIG_CRYPTO_USER"
        }
    }
    /// The module that registers the family when the option is =m (autoloaded through
    /// the alias `net-pf-16-proto-N`).
    public var moduleName: String? {
        switch self {
        case .sockDiag: return "inet_diag"
        case .xfrm: return "xfrm_user"
        case .netfilter: return "nfnetlink"
        case .iscsi: return "scsi_transport_iscsi"
        case .connector: return "cn"
        case .scsiTransport: return "scsi_mod"
        case .rdma: return "ib_core"
        case .crypto: return "crypto_user"
        default: return nil
        }
    }
    public var moduleAlias: String { "net-pf-16-proto-\(rawValue)" }
}
