#!/usr/bin/env python3
"""Records real kernel netlink replies as seed/fixture files.

Run as root: it creates a throwaway namespace, fills it with veth, macvlan, macvtap,
vxlan, bridge and tap links, IPv4/IPv6 addresses, routes (metrics, multipath, a table
above 255), neighbours, an ingress qdisc with u32+mirred filters and an htb qdisc with
classes and u32 classid/hash-table filters, sends each request once over
NETLINK_ROUTE and writes every received datagram verbatim to fuzz/corpus/
(kernel-*.bin), plus what the multicast groups carry while some of it is removed
(kernel-events-*.bin). Tests/NetlinkCodecTests/KernelFixtures.swift carries some of the
same bytes as hex, produced by `capture.py --swift`.
"""
import ctypes, os, socket, struct, subprocess, sys, uuid

NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
SOL_NETLINK, NETLINK_CAP_ACK, NETLINK_EXT_ACK = 270, 10, 11
here = os.path.dirname(os.path.abspath(__file__))

def exchange(body_type, flags, body, cap_ack):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1 if cap_ack else 0)
    s.bind((0, 0))
    msg = struct.pack("=IHHII", 16 + len(body), body_type, flags, 1, 0) + body
    s.send(msg)
    datagrams = []
    while True:
        d = s.recv(1 << 20)
        datagrams.append(d)
        if not (flags & NLM_F_DUMP):
            break
        off, types = 0, []
        while off < len(d):
            ln, t = struct.unpack_from("=IH", d, off); types.append(t); off += (ln + 3) & ~3
        if 2 in types or 3 in types:  # NLMSG_ERROR or NLMSG_DONE ends a dump
            break
    s.close()
    return datagrams

def main():
    ns = "capture-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        # os.setns needs Python 3.12; libc's setns works everywhere
        if ctypes.CDLL(None, use_errno=True).setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns")
        for cmd in ["link set lo up", "link add d0 address 02:00:00:00:00:01 type veth peer name d1", "link set d0 up", "link set d1 up",
                    "addr add 198.51.100.1/24 dev d0", "route add 203.0.113.0/24 via 198.51.100.254",
                    "neigh add 198.51.100.254 lladdr 02:00:00:00:00:fe dev d0 nud permanent"]:
            subprocess.run(["ip"] + cmd.split(), check=True)
        subprocess.run(["tc", "qdisc", "add", "dev", "d0", "ingress"], check=True)
        ifinfo = struct.pack("=BxHiII", 0, 0, 0, 0, 0)
        captures = {
            # RTM_GETLINK for lo (index 1): one RTM_NEWLINK
            "newlink-lo": exchange(18, NLM_F_REQUEST, struct.pack("=BxHiII", 0, 0, 1, 0, 0), True),
            "dump-links": exchange(18, NLM_F_REQUEST | NLM_F_DUMP, ifinfo, True),
            "dump-addrs": exchange(22, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BBBBI", 0, 0, 0, 0, 0), True),
            "dump-routes": exchange(26, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BBBBBBBBI", 2, 0, 0, 0, 0, 0, 0, 0, 0), True),
            "dump-neigh": exchange(30, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BxxxiHBB", 2, 0, 0, 0, 0), True),
            "dump-qdisc": exchange(38, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BxxxiIII", 0, 0, 0, 0, 0), True),
            # RTM_NEWLINK of an unknown kind: NLMSG_ERROR with an extended-ACK message
            "error-capped": exchange(16, NLM_F_REQUEST | NLM_F_ACK | 0x400, ifinfo + linkinfo_kind(b"nosuchkind"), True),
            "error-uncapped": exchange(16, NLM_F_REQUEST | NLM_F_ACK | 0x400, ifinfo + linkinfo_kind(b"nosuchkind"), False),
            # RTM_SETLINK of lo to the same state: a plain ACK
            "ack": exchange(19, NLM_F_REQUEST | NLM_F_ACK, struct.pack("=BxHiII", 0, 0, 1, 1, 1), True),
        }
        # The rest goes into the same namespace afterwards, so the captures above (some of them
        # unit-test fixtures) keep describing the small setup.
        # Kinds with IFLA_INFO_DATA, routes with metrics and multipath, IPv6, htb, u32 with
        # mirred and classid, a u32 hash table and a node linking into it.
        for cmd in ["ip link add m0 link d0 type macvlan mode bridge", "ip link add mt0 link d0 type macvtap mode vepa",
                    "ip link add vx0 type vxlan id 42 dstport 4789 local 198.51.100.1 dev d0", "ip link add br0 type bridge",
                    "ip tuntap add tp0 mode tap multi_queue", "ip link set m0 up",
                    "ip addr add 2001:db8::1/64 dev d0 nodad", "ip addr add 198.51.100.9 peer 198.51.100.10 dev d0 label d0:p",
                    "ip route add 203.0.113.64/26 via 198.51.100.254 mtu 1400 advmss 1360 hoplimit 10 window 1000 rtt 10ms",
                    "ip route add 203.0.113.128/25 nexthop via 198.51.100.254 weight 1 nexthop via 198.51.100.253 weight 2",
                    "ip route add 203.0.113.16/28 via 198.51.100.254 dev d0 table 1000 metric 7 onlink",
                    "ip -6 route add 2001:db8:1::/48 via 2001:db8::fe metric 5 mtu 1280 pref high",
                    "ip -6 neigh add 2001:db8::fe lladdr 02:00:00:00:00:fe dev d0 nud permanent",
                    "tc filter add dev d0 parent ffff: protocol all prio 10 u32 match u32 0 0 action mirred egress redirect dev d1",
                    "tc filter add dev d0 parent ffff: protocol ip prio 20 u32 match ip dst 203.0.113.0/24 match ip protocol 6 0xff"
                    " action mirred egress mirror dev d1 action mirred ingress redirect dev m0",
                    "tc qdisc add dev d1 root handle 1: htb default 10 direct_qlen 500",
                    "tc class add dev d1 parent 1: classid 1:10 htb rate 10mbit ceil 20mbit burst 15k prio 1",
                    "tc class add dev d1 parent 1: classid 1:20 htb rate 50gbit ceil 60gbit",
                    "tc filter add dev d1 parent 1: protocol ip prio 1 u32 match ip src 198.51.100.0/24 classid 1:10",
                    "tc filter add dev d1 parent 1: prio 2 handle 2: protocol ip u32 divisor 256",
                    "tc filter add dev d1 parent 1: prio 2 protocol ip u32 ht 800:: match ip dst 198.51.100.0/24"
                    " hashkey mask 0x000000ff at 16 link 2:"]:
            subprocess.run(cmd.split(), check=True)
        d0, d1 = socket.if_nametoindex("d0"), socket.if_nametoindex("d1")
        tcmsg = lambda index, parent: struct.pack("=BxxxiIII", 0, index, 0, parent, 0)
        captures.update({
            "rich-dump-links": exchange(18, NLM_F_REQUEST | NLM_F_DUMP, ifinfo, True),
            "rich-dump-addrs": exchange(22, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BBBBI", 0, 0, 0, 0, 0), True),
            "rich-dump-routes": exchange(26, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BBBBBBBBI", 2, 0, 0, 0, 0, 0, 0, 0, 0), True),
            "rich-dump-qdisc": exchange(38, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BxxxiIII", 0, 0, 0, 0, 0), True),
            "dump-routes6": exchange(26, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BBBBBBBBI", 10, 0, 0, 0, 0, 0, 0, 0, 0), True),
            "dump-neigh6": exchange(30, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BxxxiHBB", 10, 0, 0, 0, 0), True),
            # RTM_GETTCLASS / RTM_GETTFILTER: htb classes of d1, u32 filters on d0's ingress and d1's htb
            "dump-class": exchange(42, NLM_F_REQUEST | NLM_F_DUMP, tcmsg(d1, 0), True),
            "dump-filter-ingress": exchange(46, NLM_F_REQUEST | NLM_F_DUMP, tcmsg(d0, 0xFFFFFFF1), True),
            "dump-filter-htb": exchange(46, NLM_F_REQUEST | NLM_F_DUMP, tcmsg(d1, 0x00010000), True),
            # What `ip monitor` hears: RTM_DEL* (and the NEW* that go with them) as changes are undone.
            "events": monitor(["ip neigh del 198.51.100.254 dev d0", "ip route del 203.0.113.64/26",
                               "ip -6 route del 2001:db8:1::/48", "ip addr del 2001:db8::1/64 dev d0",
                               "ip link set m0 down", "ip link del vx0"]),
        })
    finally:
        subprocess.run(["ip", "netns", "del", ns])
    for name, datagrams in captures.items():
        for i, d in enumerate(datagrams):
            path = os.path.join(here, "corpus", f"kernel-{name}-{i}.bin")
            with open(path, "wb") as f: f.write(d)
            print(f"{path}: {len(d)} bytes", file=sys.stderr)

def monitor(commands):
    """Datagrams the kernel multicasts to the link, address, route and neighbour groups while `commands` run."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    groups = 0
    for g in (1, 3, 5, 7, 9, 11):  # RTNLGRP_LINK, NEIGH, IPV4_IFADDR, IPV4_ROUTE, IPV6_IFADDR, IPV6_ROUTE
        groups |= 1 << (g - 1)
    s.bind((0, groups))
    for cmd in commands:
        subprocess.run(cmd.split(), check=True)
    s.settimeout(0.5)
    datagrams = []
    try:
        while True:
            datagrams.append(s.recv(1 << 20))
    except socket.timeout:
        pass
    s.close()
    return datagrams

def linkinfo_kind(kind):
    kind_attr = attr(1, kind + b"\0")           # IFLA_INFO_KIND
    return attr(3, b"x0\0") + attr(18, kind_attr)  # IFLA_IFNAME, IFLA_LINKINFO

def attr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * (((len(a) + 3) & ~3) - len(a))

SWIFT_FIXTURES = ["newlink-lo-0", "dump-neigh-0", "dump-addrs-0", "dump-routes-0", "dump-qdisc-0",
                  "error-capped-0", "error-uncapped-0", "ack-0"]

def write_swift():
    """Tests/NetlinkCodecTests/KernelFixtures.swift: the corpus files the unit tests parse."""
    out = ["// Generated by fuzz/capture.py --swift from fuzz/corpus/kernel-*.bin: datagrams recorded",
           "// from a real kernel (6.18) in a throwaway namespace. Do not edit by hand.",
           "", "enum KernelFixtures {"]
    for name in SWIFT_FIXTURES:
        data = open(os.path.join(here, "corpus", f"kernel-{name}.bin"), "rb").read()
        ident = "".join(w if i == 0 else w.capitalize() for i, w in enumerate(name.replace("-0", "").split("-")))
        out.append(f"    static let {ident}: [UInt8] = hex(\"\"\"")
        for i in range(0, len(data), 32):
            out.append("        " + data[i:i + 32].hex())
        out.append('        """)')
    out += ["", "    static func hex(_ text: String) -> [UInt8] {",
            "        let digits = Array(text.utf8.filter { $0 != 10 && $0 != 32 })",
            "        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }",
            "    }", "}", ""]
    path = os.path.join(here, "..", "Tests", "NetlinkCodecTests", "KernelFixtures.swift")
    with open(path, "w") as f: f.write("\n".join(out))

if __name__ == "__main__":
    if "--swift" in sys.argv:
        write_swift()
    else:
        main()
        write_swift()
