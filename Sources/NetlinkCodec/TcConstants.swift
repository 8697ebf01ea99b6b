// Traffic-control constants under their kernel names (<linux/rtnetlink.h>, <linux/pkt_sched.h>,
// <linux/pkt_cls.h>, <linux/tc_act/tc_mirred.h>, <linux/tc_act/tc_gact.h>), grouped so a
// reader can grep the headers for them.
// swiftlint:disable identifier_name

/// Attributes of struct tcmsg messages (TCA_*).
public enum TCA {
    public static let KIND: UInt16 = 1, OPTIONS: UInt16 = 2, STATS: UInt16 = 3, XSTATS: UInt16 = 4, RATE: UInt16 = 5
    public static let FCNT: UInt16 = 6, STATS2: UInt16 = 7, STAB: UInt16 = 8, PAD: UInt16 = 9, DUMP_INVISIBLE: UInt16 = 10
    public static let CHAIN: UInt16 = 11, HW_OFFLOAD: UInt16 = 12, INGRESS_BLOCK: UInt16 = 13, EGRESS_BLOCK: UInt16 = 14
    public static let DUMP_FLAGS: UInt16 = 15, EXT_WARN_MSG: UInt16 = 16
}

/// Handles: 16-bit major:minor pairs packed in a u32 (TC_H_*).
public enum TC_H {
    public static let UNSPEC: UInt32 = 0
    public static let ROOT: UInt32 = 0xFFFF_FFFF
    public static let INGRESS: UInt32 = 0xFFFF_FFF1
    public static let CLSACT: UInt32 = INGRESS
    public static let MIN_PRIORITY: UInt32 = 0xFFE0
    public static let MIN_INGRESS: UInt32 = 0xFFF2
    public static let MIN_EGRESS: UInt32 = 0xFFF3
    public static func MAJ(_ h: UInt32) -> UInt32 { h & 0xFFFF_0000 }
    public static func MIN(_ h: UInt32) -> UInt32 { h & 0x0000_FFFF }
    public static func MAKE(_ major: UInt32, _ minor: UInt32) -> UInt32 { (major & 0xFFFF_0000) | (minor & 0xFFFF) }
}

/// Ethernet protocol numbers used as a filter's protocol (ETH_P_*, host order here).
public enum ETH_P {
    public static let ALL: UInt16 = 0x0003, IP: UInt16 = 0x0800, ARP: UInt16 = 0x0806
    public static let IPV6: UInt16 = 0x86DD, P_8021Q: UInt16 = 0x8100
}

/// Classifier flags (TCA_CLS_FLAGS_*), carried by u32/matchall/flower.
public enum TCA_CLS_FLAGS {
    public static let SKIP_HW: UInt32 = 1, SKIP_SW: UInt32 = 2, IN_HW: UInt32 = 4, NOT_IN_HW: UInt32 = 8, VERBOSE: UInt32 = 16
}

/// Actions' verdicts (TC_ACT_*).
public enum TC_ACT {
    public static let UNSPEC: Int32 = -1, OK: Int32 = 0, RECLASSIFY: Int32 = 1, SHOT: Int32 = 2, PIPE: Int32 = 3
    public static let STOLEN: Int32 = 4, QUEUED: Int32 = 5, REPEAT: Int32 = 6, REDIRECT: Int32 = 7, TRAP: Int32 = 8
    public static let JUMP: Int32 = 0x1000_0000, GOTO_CHAIN: Int32 = 0x2000_0000
}

/// One action inside a filter's action list (TCA_ACT_*).
public enum TCA_ACT {
    public static let KIND: UInt16 = 1, OPTIONS: UInt16 = 2, INDEX: UInt16 = 3, STATS: UInt16 = 4, PAD: UInt16 = 5
    public static let COOKIE: UInt16 = 6, FLAGS: UInt16 = 7, HW_STATS: UInt16 = 8, USED_HW_STATS: UInt16 = 9, IN_HW_COUNT: UInt16 = 10
}

/// act_mirred (TCA_MIRRED_*) and its eaction values (TCA_EGRESS_REDIR ...).
public enum TCA_MIRRED {
    public static let TM: UInt16 = 1, PARMS: UInt16 = 2, PAD: UInt16 = 3, BLOCKID: UInt16 = 4
    public static let EGRESS_REDIR: Int32 = 1, EGRESS_MIRROR: Int32 = 2, INGRESS_REDIR: Int32 = 3, INGRESS_MIRROR: Int32 = 4
}

/// act_gact (TCA_GACT_*).
public enum TCA_GACT { public static let TM: UInt16 = 1, PARMS: UInt16 = 2, PROB: UInt16 = 3, PAD: UInt16 = 4 }

/// cls_u32 (TCA_U32_*) and the selector flags (TC_U32_*).
public enum TCA_U32 {
    public static let CLASSID: UInt16 = 1, HASH: UInt16 = 2, LINK: UInt16 = 3, DIVISOR: UInt16 = 4, SEL: UInt16 = 5
    public static let POLICE: UInt16 = 6, ACT: UInt16 = 7, INDEV: UInt16 = 8, PCNT: UInt16 = 9, MARK: UInt16 = 10
    public static let FLAGS: UInt16 = 11, PAD: UInt16 = 12
}
public enum TC_U32 { public static let TERMINAL: UInt8 = 1, OFFSET: UInt8 = 2, VAROFFSET: UInt8 = 4, EAT: UInt8 = 8 }

/// cls_matchall (TCA_MATCHALL_*).
public enum TCA_MATCHALL {
    public static let CLASSID: UInt16 = 1, ACT: UInt16 = 2, FLAGS: UInt16 = 3, PCNT: UInt16 = 4, PAD: UInt16 = 5
}

/// cls_flower (TCA_FLOWER_*), the keys sandnet uses.
public enum TCA_FLOWER {
    public static let CLASSID: UInt16 = 1, INDEV: UInt16 = 2, ACT: UInt16 = 3
    public static let KEY_ETH_DST: UInt16 = 4, KEY_ETH_DST_MASK: UInt16 = 5, KEY_ETH_SRC: UInt16 = 6, KEY_ETH_SRC_MASK: UInt16 = 7
    public static let KEY_ETH_TYPE: UInt16 = 8, KEY_IP_PROTO: UInt16 = 9
    public static let KEY_IPV4_SRC: UInt16 = 10, KEY_IPV4_SRC_MASK: UInt16 = 11, KEY_IPV4_DST: UInt16 = 12, KEY_IPV4_DST_MASK: UInt16 = 13
    public static let FLAGS: UInt16 = 22
}

/// sch_htb (TCA_HTB_*); TC_HTB_PROTOVER is the version tc and the kernel agree on.
public enum TCA_HTB {
    public static let PARMS: UInt16 = 1, INIT: UInt16 = 2, CTAB: UInt16 = 3, RTAB: UInt16 = 4, DIRECT_QLEN: UInt16 = 5
    public static let RATE64: UInt16 = 6, CEIL64: UInt16 = 7, PAD: UInt16 = 8, OFFLOAD: UInt16 = 9
    public static let PROTOVER: UInt32 = 3 // TC_HTB_PROTOVER
}

/// struct tc_ratespec linklayer (TC_LINKLAYER_*). ETHERNET tells the kernel to compute
/// transmit times itself, so no rate table has to be sent.
public enum TC_LINKLAYER { public static let UNAWARE: UInt8 = 0, ETHERNET: UInt8 = 1, ATM: UInt8 = 2 }
