// rtnetlink constants under their kernel names (<linux/rtnetlink.h>, <linux/if_link.h>,
// <linux/if_addr.h>, <linux/neighbour.h>), grouped so a reader can grep the headers.
// swiftlint:disable identifier_name

public enum RTM {
    public static let NEWLINK: UInt16 = 16, DELLINK: UInt16 = 17, GETLINK: UInt16 = 18, SETLINK: UInt16 = 19
    public static let NEWADDR: UInt16 = 20, DELADDR: UInt16 = 21, GETADDR: UInt16 = 22
    public static let NEWROUTE: UInt16 = 24, DELROUTE: UInt16 = 25, GETROUTE: UInt16 = 26
    public static let NEWNEIGH: UInt16 = 28, DELNEIGH: UInt16 = 29, GETNEIGH: UInt16 = 30
    public static let NEWQDISC: UInt16 = 36, DELQDISC: UInt16 = 37, GETQDISC: UInt16 = 38
    public static let NEWTCLASS: UInt16 = 40, DELTCLASS: UInt16 = 41, GETTCLASS: UInt16 = 42
    public static let NEWTFILTER: UInt16 = 44, DELTFILTER: UInt16 = 45, GETTFILTER: UInt16 = 46
    public static let NEWACTION: UInt16 = 48, DELACTION: UInt16 = 49, GETACTION: UInt16 = 50
    public static let NEWNSID: UInt16 = 88, GETNSID: UInt16 = 90
}

/// Multicast groups (RTNLGRP_*), joined with NETLINK_ADD_MEMBERSHIP.
public enum RTNLGRP {
    public static let LINK: UInt32 = 1, NEIGH: UInt32 = 3, TC: UInt32 = 4
    public static let IPV4_IFADDR: UInt32 = 5, IPV4_ROUTE: UInt32 = 7
    public static let IPV6_IFADDR: UInt32 = 9, IPV6_ROUTE: UInt32 = 11
}

public enum AddressFamily {
    public static let UNSPEC: UInt8 = 0, INET: UInt8 = 2, BRIDGE: UInt8 = 7, INET6: UInt8 = 10, PACKET: UInt8 = 17
}

public enum IFLA {
    public static let ADDRESS: UInt16 = 1, BROADCAST: UInt16 = 2, IFNAME: UInt16 = 3, MTU: UInt16 = 4, LINK: UInt16 = 5
    public static let QDISC: UInt16 = 6, STATS: UInt16 = 7, MASTER: UInt16 = 10, TXQLEN: UInt16 = 13
    public static let OPERSTATE: UInt16 = 16, LINKMODE: UInt16 = 17, LINKINFO: UInt16 = 18, NET_NS_PID: UInt16 = 19
    public static let IFALIAS: UInt16 = 20, STATS64: UInt16 = 23, AF_SPEC: UInt16 = 26, GROUP: UInt16 = 27
    public static let NET_NS_FD: UInt16 = 28, EXT_MASK: UInt16 = 29, PROMISCUITY: UInt16 = 30
    public static let NUM_TX_QUEUES: UInt16 = 31, NUM_RX_QUEUES: UInt16 = 32, CARRIER: UInt16 = 33
    public static let LINK_NETNSID: UInt16 = 37, PERM_ADDRESS: UInt16 = 54, PARENT_DEV_NAME: UInt16 = 56
    public static let PARENT_DEV_BUS_NAME: UInt16 = 57, MIN_MTU: UInt16 = 50, MAX_MTU: UInt16 = 51, NEW_IFINDEX: UInt16 = 49
}

public enum IFLA_INFO {
    public static let KIND: UInt16 = 1, DATA: UInt16 = 2, XSTATS: UInt16 = 3, SLAVE_KIND: UInt16 = 4, SLAVE_DATA: UInt16 = 5
}

/// veth: IFLA_INFO_DATA carries VETH_INFO_PEER, itself an ifinfomsg + attributes.
public enum VETH_INFO { public static let PEER: UInt16 = 1 }

public enum IFLA_MACVLAN {
    public static let MODE: UInt16 = 1, FLAGS: UInt16 = 2
}
public enum MACVLAN_MODE {
    public static let PRIVATE: UInt32 = 1, VEPA: UInt32 = 2, BRIDGE: UInt32 = 4, PASSTHRU: UInt32 = 8, SOURCE: UInt32 = 16
}
public enum IFLA_IPVLAN { public static let MODE: UInt16 = 1, FLAGS: UInt16 = 2 }
public enum IPVLAN_MODE { public static let L2: UInt16 = 0, L3: UInt16 = 1, L3S: UInt16 = 2 }
public enum IPVLAN_F { public static let PRIVATE: UInt16 = 0x01, VEPA: UInt16 = 0x02 }
public enum IFLA_VLAN { public static let ID: UInt16 = 1, FLAGS: UInt16 = 2, PROTOCOL: UInt16 = 5 }
public enum IFLA_VXLAN {
    public static let ID: UInt16 = 1, GROUP: UInt16 = 2, LINK: UInt16 = 3, LOCAL: UInt16 = 4, TTL: UInt16 = 5
    public static let LEARNING: UInt16 = 7, PORT: UInt16 = 15, GROUP6: UInt16 = 16, LOCAL6: UInt16 = 17
}
public enum IFLA_TUN {
    public static let OWNER: UInt16 = 1, GROUP: UInt16 = 2, TYPE: UInt16 = 3, PI: UInt16 = 4, VNET_HDR: UInt16 = 5
    public static let PERSIST: UInt16 = 6, MULTI_QUEUE: UInt16 = 7, NUM_QUEUES: UInt16 = 8, NUM_DISABLED_QUEUES: UInt16 = 9
}
public enum IFLA_BR { public static let STP_STATE: UInt16 = 5 }

public enum IFF {
    public static let UP: UInt32 = 0x1, BROADCAST: UInt32 = 0x2, LOOPBACK: UInt32 = 0x8, POINTOPOINT: UInt32 = 0x10
    public static let RUNNING: UInt32 = 0x40, NOARP: UInt32 = 0x80, PROMISC: UInt32 = 0x100, MULTICAST: UInt32 = 0x1000
    public static let LOWER_UP: UInt32 = 0x10000, DORMANT: UInt32 = 0x20000
}

public enum IFA {
    public static let ADDRESS: UInt16 = 1, LOCAL: UInt16 = 2, LABEL: UInt16 = 3, BROADCAST: UInt16 = 4
    public static let ANYCAST: UInt16 = 5, CACHEINFO: UInt16 = 6, FLAGS: UInt16 = 8
}
public enum IFA_F {
    public static let SECONDARY: UInt32 = 0x01, NODAD: UInt32 = 0x02, DADFAILED: UInt32 = 0x08
    public static let TENTATIVE: UInt32 = 0x40, PERMANENT: UInt32 = 0x80, NOPREFIXROUTE: UInt32 = 0x200
}

public enum RTA {
    public static let DST: UInt16 = 1, SRC: UInt16 = 2, IIF: UInt16 = 3, OIF: UInt16 = 4, GATEWAY: UInt16 = 5
    public static let PRIORITY: UInt16 = 6, PREFSRC: UInt16 = 7, METRICS: UInt16 = 8, MULTIPATH: UInt16 = 9
    public static let TABLE: UInt16 = 15, PREF: UInt16 = 20, VIA: UInt16 = 18
}
public enum RTAX { public static let MTU: UInt16 = 2, WINDOW: UInt16 = 3, RTT: UInt16 = 4, ADVMSS: UInt16 = 8, HOPLIMIT: UInt16 = 10 }
public enum RT_TABLE { public static let UNSPEC: UInt32 = 0, DEFAULT: UInt32 = 253, MAIN: UInt32 = 254, LOCAL: UInt32 = 255 }
public enum RT_SCOPE {
    public static let UNIVERSE: UInt8 = 0, SITE: UInt8 = 200, LINK: UInt8 = 253, HOST: UInt8 = 254, NOWHERE: UInt8 = 255
}
public enum RTPROT {
    public static let UNSPEC: UInt8 = 0, REDIRECT: UInt8 = 1, KERNEL: UInt8 = 2, BOOT: UInt8 = 3, STATIC: UInt8 = 4, RA: UInt8 = 9,
        DHCP: UInt8 = 16
}
public enum RTN {
    public static let UNSPEC: UInt8 = 0, UNICAST: UInt8 = 1, LOCAL: UInt8 = 2, BROADCAST: UInt8 = 3, ANYCAST: UInt8 = 4
    public static let MULTICAST: UInt8 = 5, BLACKHOLE: UInt8 = 6, UNREACHABLE: UInt8 = 7, PROHIBIT: UInt8 = 8
}
public enum RTM_F { public static let CLONED: UInt32 = 0x200 }
public enum RTNH_F { public static let ONLINK: UInt32 = 0x4 }

public enum NDA {
    public static let DST: UInt16 = 1, LLADDR: UInt16 = 2, CACHEINFO: UInt16 = 3, PROBES: UInt16 = 4, MASTER: UInt16 = 9
}
public enum NUD {
    public static let INCOMPLETE: UInt16 = 0x01, REACHABLE: UInt16 = 0x02, STALE: UInt16 = 0x04, DELAY: UInt16 = 0x08
    public static let PROBE: UInt16 = 0x10, FAILED: UInt16 = 0x20, NOARP: UInt16 = 0x40, PERMANENT: UInt16 = 0x80
}
public enum NTF { public static let USE: UInt8 = 0x01, SELF: UInt8 = 0x02, MASTER: UInt8 = 0x04, PROXY: UInt8 = 0x08, ROUTER: UInt8 = 0x80 }
public enum ARPHRD { public static let ETHER: UInt16 = 1, LOOPBACK: UInt16 = 772, NONE: UInt16 = 0xfffe, VOID: UInt16 = 0xffff }
