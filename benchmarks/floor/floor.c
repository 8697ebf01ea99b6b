// The floor: the netlink requests sandnet makes, in C on libmnl, with the least work
// that still decodes every reply. Built by scripts/bench.sh: cc -O2 -o floor floor.c -lmnl
//
//   floor w1 NETNS RUNS            per-run ns of a full scan (links, addresses, routes,
//                                  neighbours; every attribute walked), counts, VmHWM
//   floor w3 NETNS CYCLES          total ns of CYCLES x (open netns, setns, socket+bind, setns home)
//   floor w3-thread NETNS CYCLES   the same, but setns..setns home on a dedicated thread pinned
//                                  to the caller's CPU (one per CPU), handed over with a futex
//                                  and a yield: the least a library pays that never calls
//                                  setns on its caller's thread
//   floor w3-thread-first NETNS 1  one such cycle in a fresh process, its thread start timed
//   floor tc-attach NETNS GROUP    tcfilter wiring of every endpoint (veth not in a group):
//                                  tap via /dev/net/tun (multiqueue, 2 queues, persist),
//                                  RTM_NEWLINK up+mtu+group, 2x ingress qdisc, 2x u32/mirred
//   floor tc-detach NETNS GROUP one|group
//                                  one: RTM_DELLINK per tap (one RCU grace period each);
//                                  group: one RTM_DELLINK for the link group; then the
//                                  endpoints' ingress qdiscs
//   floor mv-attach NETNS GROUP    macvtap wiring: addresses and IPv6 routes off, endpoint
//                                  MAC replaced, macvtap (bridge, MAC, MTU, up) + group,
//                                  char device number from a private sysfs, node, 2 queues
//   floor rusage CMD ARGS...       runs CMD, prints wall ns and the child's maxrss (this
//                                  process is small, so the exec'd child's maxrss is its own)
//   floor spin CPU                 keeps CPU busy (pinned with sched_setaffinity) until killed:
//                                  the contention runs' other process
// Timed output lines: "run WALL CPU" / "total WALL CPU" in ns (CPU: user + system time of
// this process, from getrusage); "counts ..." says what was done.
#define _GNU_SOURCE
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>   // before the linux/ headers: it defines IFF_* itself
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/neighbour.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/futex.h>
#include <linux/tc_act/tc_mirred.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
static long long tv_ns(struct timeval t) { return t.tv_sec * 1000000000LL + t.tv_usec * 1000LL; }
// User + system CPU of this process (or its waited-for children), every thread, in ns.
static long long cpu_ns(int who) { struct rusage ru; getrusage(who, &ru); return tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime); }
static void fail(const char *what) { perror(what); exit(1); }

// VmHWM, not getrusage's ru_maxrss: the latter survives execve and would report the
// peak of the (much larger) process that spawned us.
static long peak_rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r"); char line[256]; long kb = -1;
    while (f && fgets(line, sizeof line, f)) if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

static void enter(const char *netns) {
    char path[256]; snprintf(path, sizeof path, "/run/netns/%s", netns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) fail(path);
    close(fd);
}

static struct mnl_socket *open_route(void) {
    struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) fail("netlink socket");
    int on = 1;   // sandnet asks for extended ACKs too
    mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &on, sizeof on);
    return nl;
}

// ---------------------------------------------------------------------------------
// dumps, decoded into records

struct record { int index; unsigned mtu, group; unsigned char family, prefix; char name[16]; unsigned char addr[16], gw[16]; };
static struct record *records; static size_t count, capacity;

static struct record *next_record(void) {
    if (count == capacity) { capacity = capacity ? capacity * 2 : 1024; records = realloc(records, capacity * sizeof *records); }
    struct record *r = &records[count++]; memset(r, 0, sizeof *r); return r;
}
static void copy16(unsigned char *to, const struct nlattr *a) {
    size_t n = mnl_attr_get_payload_len(a); memcpy(to, mnl_attr_get_payload(a), n > 16 ? 16 : n);
}
static int link_attr(const struct nlattr *a, void *data) {
    struct record *r = data;
    switch (mnl_attr_get_type(a)) {
    case IFLA_IFNAME: strncpy(r->name, mnl_attr_get_str(a), 15); break;
    case IFLA_MTU: r->mtu = mnl_attr_get_u32(a); break;
    case IFLA_GROUP: r->group = mnl_attr_get_u32(a); break;
    case IFLA_ADDRESS: copy16(r->addr, a); break;
    }
    return MNL_CB_OK;
}
static int addr_attr(const struct nlattr *a, void *data) {
    struct record *r = data; int t = mnl_attr_get_type(a);
    if (t == IFA_ADDRESS || t == IFA_LOCAL || t == RTA_DST || t == NDA_DST) copy16(r->addr, a);
    if (t == RTA_GATEWAY) copy16(r->gw, a);
    if (t == RTA_OIF) r->index = (int)mnl_attr_get_u32(a);
    return MNL_CB_OK;
}
static int on_message(const struct nlmsghdr *n, void *data) {
    (void)data; struct record *r = next_record();
    switch (n->nlmsg_type) {
    case RTM_NEWLINK: { struct ifinfomsg *i = mnl_nlmsg_get_payload(n); r->index = i->ifi_index;
        mnl_attr_parse(n, sizeof *i, link_attr, r); break; }
    case RTM_NEWADDR: { struct ifaddrmsg *i = mnl_nlmsg_get_payload(n); r->index = i->ifa_index; r->prefix = i->ifa_prefixlen;
        r->family = i->ifa_family; mnl_attr_parse(n, sizeof *i, addr_attr, r); break; }
    case RTM_NEWROUTE: { struct rtmsg *i = mnl_nlmsg_get_payload(n); r->family = i->rtm_family; r->prefix = i->rtm_dst_len;
        mnl_attr_parse(n, sizeof *i, addr_attr, r); break; }
    case RTM_NEWNEIGH: { struct ndmsg *i = mnl_nlmsg_get_payload(n); r->index = i->ndm_ifindex;
        mnl_attr_parse(n, sizeof *i, addr_attr, r); break; }
    }
    return MNL_CB_OK;
}

static char buf[1 << 16];
static unsigned sequence = 1;

// Reads what is left of an interrupted dump, up to its NLMSG_DONE.
static void drain(struct mnl_socket *nl) {
    for (;;) {
        ssize_t len = mnl_socket_recvfrom(nl, buf, sizeof buf);
        if (len < 0) fail("recvfrom");
        int left = (int)len;
        for (struct nlmsghdr *m = (struct nlmsghdr *)buf; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left))
            if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) return;
    }
}

// Records of one dump start at records[returned index]. An interrupted dump
// (NLM_F_DUMP_INTR: the table changed meanwhile) is done again, as sandnet does.
static size_t dump(struct mnl_socket *nl, int type, size_t header_size) {
    size_t before = count;
again:
    count = before;
    struct nlmsghdr *n = mnl_nlmsg_put_header(buf);
    n->nlmsg_type = type; n->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    unsigned seq = n->nlmsg_seq = sequence++;
    mnl_nlmsg_put_extra_header(n, header_size);   // zeroed: AF_UNSPEC, no filter
    if (mnl_socket_sendto(nl, n, n->nlmsg_len) < 0) fail("sendto");
    unsigned port = mnl_socket_get_portid(nl);
    for (;;) {
        ssize_t len = mnl_socket_recvfrom(nl, buf, sizeof buf);
        if (len < 0) fail("recvfrom");
        int ret = mnl_cb_run(buf, len, seq, port, on_message, NULL);
        if (ret < 0 && errno == EINTR) {
            // The DONE may be in this very datagram; then nothing is left to drain.
            int done = 0, left = (int)len;
            for (struct nlmsghdr *m = (struct nlmsghdr *)buf; mnl_nlmsg_ok(m, left); m = mnl_nlmsg_next(m, &left))
                done |= m->nlmsg_type == NLMSG_DONE;
            if (!done) drain(nl);
            goto again;
        }
        if (ret < 0) fail("dump");
        if (ret == MNL_CB_STOP) break;
    }
    return before;
}

// ---------------------------------------------------------------------------------
// requests with an ACK

static int requests;
static void request(struct mnl_socket *nl, struct nlmsghdr *n, const char *what, int tolerated) {
    n->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    n->nlmsg_seq = sequence++;
    requests++;
    if (mnl_socket_sendto(nl, n, n->nlmsg_len) < 0) fail("sendto");
    char reply[8192];
    ssize_t len = mnl_socket_recvfrom(nl, reply, sizeof reply);
    if (len < 0) fail("recvfrom");
    if (mnl_cb_run(reply, len, n->nlmsg_seq, mnl_socket_get_portid(nl), NULL, NULL) < 0 && errno != tolerated) {
        fprintf(stderr, "floor: %s: %s\n", what, strerror(errno)); exit(1);
    }
}

static struct nlmsghdr *start(int type, int flags, void *header, size_t size) {
    struct nlmsghdr *n = mnl_nlmsg_put_header(buf);
    n->nlmsg_type = type; n->nlmsg_flags = flags;
    memcpy(mnl_nlmsg_put_extra_header(n, size), header, size);
    return n;
}

struct endpoint { int index; unsigned mtu; unsigned char mac[6]; char name[16]; };

// The endpoints: veth links outside every link group, from one link dump (sandnet scans too).
static int endpoints(struct mnl_socket *nl, struct endpoint *out, int max) {
    count = 0;
    size_t first = dump(nl, RTM_GETLINK, sizeof(struct ifinfomsg));
    int n = 0;
    for (size_t i = first; i < count && n < max; i++) {
        struct record *r = &records[i];
        if (r->group != 0 || strncmp(r->name, "lo", 3) == 0 || r->name[0] == 0) continue;
        out[n].index = r->index; out[n].mtu = r->mtu; memcpy(out[n].mac, r->addr, 6); strcpy(out[n].name, r->name); n++;
    }
    return n;
}

static void link_set(struct mnl_socket *nl, int index, const char *name, unsigned mtu, const unsigned char *mac, int up, unsigned group) {
    struct ifinfomsg h = { .ifi_family = AF_UNSPEC, .ifi_index = index };
    if (up) { h.ifi_flags = IFF_UP; h.ifi_change = IFF_UP; }
    struct nlmsghdr *n = start(RTM_NEWLINK, 0, &h, sizeof h);
    if (name) mnl_attr_put_strz(n, IFLA_IFNAME, name);
    if (mtu) mnl_attr_put_u32(n, IFLA_MTU, mtu);
    if (mac) mnl_attr_put(n, IFLA_ADDRESS, 6, mac);
    if (group) mnl_attr_put_u32(n, IFLA_GROUP, group);
    request(nl, n, "set link", 0);
}

static void ingress_qdisc(struct mnl_socket *nl, int index, int add) {
    struct tcmsg t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = index, .tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0), .tcm_parent = TC_H_INGRESS };
    struct nlmsghdr *n = start(add ? RTM_NEWQDISC : RTM_DELQDISC, add ? NLM_F_CREATE | NLM_F_EXCL : 0, &t, sizeof t);
    mnl_attr_put_strz(n, TCA_KIND, "ingress");
    request(nl, n, add ? "add ingress qdisc" : "delete ingress qdisc", add ? 0 : EINVAL);
}

// tc filter add dev FROM parent ffff: protocol all pref 1 u32 match u32 0 0 action mirred egress redirect dev TO
static void redirect(struct mnl_socket *nl, int from, int to) {
    struct tcmsg t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = from, .tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0),
                       .tcm_info = TC_H_MAKE(1 << 16, htons(0x0003 /* ETH_P_ALL */)) };
    struct nlmsghdr *n = start(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, &t, sizeof t);
    mnl_attr_put_strz(n, TCA_KIND, "u32");
    struct nlattr *options = mnl_attr_nest_start(n, TCA_OPTIONS);
    struct nlattr *actions = mnl_attr_nest_start(n, TCA_U32_ACT);
    struct nlattr *first = mnl_attr_nest_start(n, 1);
    mnl_attr_put_strz(n, TCA_ACT_KIND, "mirred");
    struct nlattr *aopts = mnl_attr_nest_start(n, TCA_ACT_OPTIONS | NLA_F_NESTED);
    struct tc_mirred m = { .action = TC_ACT_STOLEN, .eaction = TCA_EGRESS_REDIR, .ifindex = (unsigned)to };
    mnl_attr_put(n, TCA_MIRRED_PARMS, sizeof m, &m);
    mnl_attr_nest_end(n, aopts); mnl_attr_nest_end(n, first); mnl_attr_nest_end(n, actions);
    struct { struct tc_u32_sel sel; struct tc_u32_key key; } s = { .sel = { .flags = TC_U32_TERMINAL, .nkeys = 1 } };
    mnl_attr_put(n, TCA_U32_SEL, sizeof s, &s);
    mnl_attr_nest_end(n, options);
    request(nl, n, "add u32 filter", 0);
}

static int tun_attach(const char *name, short flags) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) fail("/dev/net/tun");
    struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1); ifr.ifr_flags = flags;
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) fail("TUNSETIFF");
    return fd;
}

#define MAX_ENDPOINTS 4096
static struct endpoint eps[MAX_ENDPOINTS];
static int queue_fds[MAX_ENDPOINTS * 2];

static int tc_attach(struct mnl_socket *nl, unsigned group) {
    int n = endpoints(nl, eps, MAX_ENDPOINTS);
    for (int i = 0; i < n; i++) {
        char tap[IFNAMSIZ]; snprintf(tap, sizeof tap, "fl%ut%d", group, i);
        short flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
        queue_fds[2 * i] = tun_attach(tap, flags | IFF_TUN_EXCL);
        if (ioctl(queue_fds[2 * i], TUNSETPERSIST, 1) != 0) fail("TUNSETPERSIST");
        queue_fds[2 * i + 1] = tun_attach(tap, flags);
        int tap_index = (int)if_nametoindex(tap);
        link_set(nl, tap_index, NULL, eps[i].mtu, NULL, 1, group);
        ingress_qdisc(nl, eps[i].index, 1);
        redirect(nl, eps[i].index, tap_index);
        ingress_qdisc(nl, tap_index, 1);
        redirect(nl, tap_index, eps[i].index);
    }
    return n;
}

static void delete_group(struct mnl_socket *nl, unsigned group) {
    struct ifinfomsg h = { .ifi_family = AF_UNSPEC };
    struct nlmsghdr *n = start(RTM_DELLINK, 0, &h, sizeof h);
    mnl_attr_put_u32(n, IFLA_GROUP, group);
    request(nl, n, "delete link group", 0);
}

static int tc_detach(struct mnl_socket *nl, unsigned group, int one_by_one) {
    count = 0;
    size_t first = dump(nl, RTM_GETLINK, sizeof(struct ifinfomsg));
    size_t last = count;
    int taps = 0;
    if (one_by_one) {
        for (size_t i = first; i < last; i++) {
            if (records[i].group != group) continue;
            struct ifinfomsg h = { .ifi_family = AF_UNSPEC, .ifi_index = records[i].index };
            request(nl, start(RTM_DELLINK, 0, &h, sizeof h), "delete link", 0);
            taps++;
        }
    } else {
        for (size_t i = first; i < last; i++) taps += records[i].group == group;
        delete_group(nl, group);
    }
    for (size_t i = first; i < last; i++)
        if (records[i].group == 0 && strcmp(records[i].name, "lo") != 0) ingress_qdisc(nl, records[i].index, 0);
    return taps;
}

// ---------------------------------------------------------------------------------
// macvtap

static int mv_attach(struct mnl_socket *nl, unsigned group) {
    int n = endpoints(nl, eps, MAX_ENDPOINTS);
    // Addresses and routes of every endpoint, from the same dumps sandnet's scan makes.
    count = 0;
    size_t addr0 = dump(nl, RTM_GETADDR, sizeof(struct ifaddrmsg)), addr1 = count;
    size_t route0 = dump(nl, RTM_GETROUTE, sizeof(struct rtmsg)), route1 = count;
    // A private sysfs of this namespace, once (sandnet mounts one per device lookup).
    if (unshare(CLONE_NEWNS) != 0 || mount("", "/", NULL, MS_SLAVE | MS_REC, NULL) != 0 ||
        mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) fail("private sysfs");
    char dir[] = "/run/floor-macvtap-XXXXXX";
    if (!mkdtemp(dir)) fail("mkdtemp");
    for (int i = 0; i < n; i++) {
        struct endpoint *e = &eps[i];
        for (size_t a = addr0; a < addr1; a++) {
            struct record *r = &records[a];
            if (r->index != e->index || (r->family == AF_INET6 && r->addr[0] == 0xfe && (r->addr[1] & 0xc0) == 0x80)) continue;
            struct ifaddrmsg h = { .ifa_family = r->family, .ifa_prefixlen = r->prefix, .ifa_index = r->index };
            struct nlmsghdr *m = start(RTM_DELADDR, 0, &h, sizeof h);
            mnl_attr_put(m, IFA_LOCAL, r->family == AF_INET ? 4 : 16, r->addr);
            request(nl, m, "delete address", EADDRNOTAVAIL);
        }
        for (size_t a = route0; a < route1; a++) {
            struct record *r = &records[a];
            // Our IPv6 routes (not the kernel's fe80::/64 and local ones): 2001:db8::/32.
            if (r->index != e->index || r->family != AF_INET6 || r->addr[0] != 0x20 || r->addr[1] != 0x01) continue;
            struct rtmsg h = { .rtm_family = AF_INET6, .rtm_dst_len = r->prefix, .rtm_table = RT_TABLE_MAIN };
            struct nlmsghdr *m = start(RTM_DELROUTE, 0, &h, sizeof h);
            mnl_attr_put(m, RTA_DST, 16, r->addr);
            mnl_attr_put_u32(m, RTA_OIF, (unsigned)e->index);
            request(nl, m, "delete route", ESRCH);
        }
        unsigned char replacement[6] = { 0x02, 0x5e, (unsigned char)(i >> 8), (unsigned char)i, 0x42, 0x01 };
        link_set(nl, e->index, NULL, 0, replacement, 0, 0);
        char name[IFNAMSIZ]; snprintf(name, sizeof name, "fl%um%d", group, i);
        struct ifinfomsg h = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
        struct nlmsghdr *m = start(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &h, sizeof h);
        mnl_attr_put_strz(m, IFLA_IFNAME, name);
        mnl_attr_put_u32(m, IFLA_LINK, (unsigned)e->index);
        mnl_attr_put_u32(m, IFLA_MTU, e->mtu);
        mnl_attr_put(m, IFLA_ADDRESS, 6, e->mac);
        struct nlattr *info = mnl_attr_nest_start(m, IFLA_LINKINFO);
        mnl_attr_put_strz(m, IFLA_INFO_KIND, "macvtap");
        struct nlattr *data = mnl_attr_nest_start(m, IFLA_INFO_DATA);
        mnl_attr_put_u32(m, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
        mnl_attr_nest_end(m, data); mnl_attr_nest_end(m, info);
        request(nl, m, "add macvtap", 0);
        int index = (int)if_nametoindex(name);
        link_set(nl, index, NULL, 0, NULL, 0, group);
        char path[128], dev[32] = {0}; unsigned major, minor;
        snprintf(path, sizeof path, "/sys/class/macvtap/tap%d/dev", index);
        FILE *f = fopen(path, "r");
        if (!f || !fgets(dev, sizeof dev, f) || sscanf(dev, "%u:%u", &major, &minor) != 2) fail(path);
        fclose(f);
        snprintf(path, sizeof path, "%s/tap%d", dir, index);
        if (mknod(path, S_IFCHR | 0600, makedev(major, minor)) != 0) fail("mknod");
        for (int q = 0; q < 2; q++) if ((queue_fds[2 * i + q] = open(path, O_RDWR | O_CLOEXEC)) < 0) fail(path);
    }
    char cmd[64]; snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return n + 0 * system(cmd);
}

// ---------------------------------------------------------------------------------

// w3-thread: one worker per CPU, pinned; a job is one namespace fd in, one socket out.
struct hop { uint32_t mail, done; int ns, home, sock; int cpu, started; };
static void hop_post(uint32_t *w) {
    if (__atomic_exchange_n(w, 1, __ATOMIC_SEQ_CST) == 2) syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
static void hop_wait(uint32_t *w) {
    for (;;) {
        uint32_t seen = __atomic_load_n(w, __ATOMIC_ACQUIRE);
        if (seen == 1) { __atomic_store_n(w, 0, __ATOMIC_RELEASE); return; }
        if (seen == 0 && !__atomic_compare_exchange_n(w, &seen, 2, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) continue;
        syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
    }
}
static void *hop_worker(void *arg) {
    struct hop *h = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(h->cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) fail("sched_setaffinity");
    for (;;) {
        hop_wait(&h->mail);
        if (setns(h->ns, CLONE_NEWNET) != 0) fail("setns");
        struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) fail("mnl");
        if (setns(h->home, CLONE_NEWNET) != 0) fail("setns home");
        h->sock = mnl_socket_get_fd(nl);
        free(nl); // keep the descriptor, drop libmnl's wrapper
        hop_post(&h->done);
    }
    return NULL;
}
static void w3_thread(const char *netns, int n, int cold) {
    long long t0 = now_ns(), c0 = cpu_ns(RUSAGE_SELF);
    char path[256]; snprintf(path, sizeof path, "/run/netns/%s", netns);
    int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    long cpus = sysconf(_SC_NPROCESSORS_CONF);
    struct hop *hops = calloc((size_t)cpus, sizeof *hops);
    // Warm: the first rounds, which start the workers, are not timed. Cold: only the first
    // cycle, thread start included (what a fresh process's first handle pays).
    int first = cold ? 0 : -(int)cpus;
    if (cold) n = 1;
    for (int i = first; i < n; i++) {
        if (i == 0 && !cold) { t0 = now_ns(); c0 = cpu_ns(RUSAGE_SELF); }
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail(path);
        int cpu = sched_getcpu();
        struct hop *h = &hops[cpu < 0 || cpu >= cpus ? 0 : cpu];
        if (!h->started) { // this CPU's worker, started on first use
            h->started = 1;
            h->home = home;
            h->cpu = (int)(h - hops);
            pthread_t t;
            if (pthread_create(&t, NULL, hop_worker, h) != 0) fail("pthread_create");
        }
        h->ns = fd;
        hop_post(&h->mail);
        if (__atomic_load_n(&h->done, __ATOMIC_ACQUIRE) != 1 && sched_getcpu() == h->cpu) sched_yield();
        hop_wait(&h->done);
        close(fd);
        close(h->sock);
    }
    printf("total %lld %lld\n", now_ns() - t0, cpu_ns(RUSAGE_SELF) - c0);
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "rusage") == 0) {
        long long t0 = now_ns();
        pid_t pid = fork();
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            execvp(argv[2], argv + 2); _exit(127);
        }
        int status; struct rusage ru;
        if (wait4(pid, &status, 0, &ru) < 0) fail("wait4");
        printf("total %lld %lld\nmaxrss_kb %ld\nstatus %d\n", now_ns() - t0, tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime), ru.ru_maxrss,
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "spin") == 0) {
        cpu_set_t cpus; CPU_ZERO(&cpus); CPU_SET(atoi(argv[2]), &cpus);
        if (sched_setaffinity(0, sizeof cpus, &cpus) != 0) fail("sched_setaffinity");
        prctl(PR_SET_PDEATHSIG, SIGKILL);   // never outlive the benchmark, even if it dies
        if (getppid() == 1) return 0;
        for (volatile unsigned long i = 0;; i++) {}
    }
    if (argc < 4) { fprintf(stderr, "usage: floor w1|w3|w3-thread[-first]|tc-attach|tc-detach|mv-attach NETNS N [one|group] | rusage CMD... | spin CPU\n"); return 2; }
    const char *w = argv[1], *netns = argv[2];
    int n = atoi(argv[3]);
    if (strcmp(w, "w1") == 0) {
        enter(netns);
        struct mnl_socket *nl = open_route();
        size_t links = 0, addrs = 0, routes = 0, neigh = 0;
        for (int i = 0; i < n; i++) {
            count = 0;
            long long t0 = now_ns(), c0 = cpu_ns(RUSAGE_SELF);
            dump(nl, RTM_GETLINK, sizeof(struct ifinfomsg)); links = count;
            dump(nl, RTM_GETADDR, sizeof(struct ifaddrmsg)); addrs = count - links;
            dump(nl, RTM_GETROUTE, sizeof(struct rtmsg)); routes = count - links - addrs;
            dump(nl, RTM_GETNEIGH, sizeof(struct ndmsg)); neigh = count - links - addrs - routes;
            printf("run %lld %lld\n", now_ns() - t0, cpu_ns(RUSAGE_SELF) - c0);
        }
        printf("counts links=%zu addresses=%zu routes=%zu neighbours=%zu\nmaxrss_kb %ld\n", links, addrs, routes, neigh, peak_rss_kb());
        mnl_socket_close(nl);
    } else if (strcmp(w, "w3-thread") == 0 || strcmp(w, "w3-thread-first") == 0) {
        w3_thread(netns, n, w[9] == '-');
    } else if (strcmp(w, "w3") == 0) {
        char path[256]; snprintf(path, sizeof path, "/run/netns/%s", netns);
        int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        long long t0 = now_ns(), c0 = cpu_ns(RUSAGE_SELF);
        for (int i = 0; i < n; i++) {
            // Same steps as a namespace-bound handle: open the netns, enter, socket+bind, go home.
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) fail(path);
            struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
            if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) fail("mnl");
            if (setns(home, CLONE_NEWNET) != 0) fail("setns home");
            close(fd);
            mnl_socket_close(nl);
        }
        printf("total %lld %lld\n", now_ns() - t0, cpu_ns(RUSAGE_SELF) - c0);
    } else if (strcmp(w, "tc-attach") == 0 || strcmp(w, "mv-attach") == 0 || strcmp(w, "tc-detach") == 0) {
        unsigned group = (unsigned)n;
        long long t0 = now_ns(), c0 = cpu_ns(RUSAGE_SELF);
        enter(netns);
        struct mnl_socket *nl = open_route();
        int done;
        if (strcmp(w, "tc-attach") == 0) done = tc_attach(nl, group);
        else if (strcmp(w, "mv-attach") == 0) done = mv_attach(nl, group);
        else done = tc_detach(nl, group, argc > 4 && strcmp(argv[4], "one") == 0);
        long long t = now_ns() - t0, c = cpu_ns(RUSAGE_SELF) - c0;
        for (int i = 0; i < 2 * done && w[3] == 'a'; i++) close(queue_fds[i]);
        printf("total %lld %lld\ncounts endpoints=%d requests=%d\nmaxrss_kb %ld\n", t, c, done, requests, peak_rss_kb());
        mnl_socket_close(nl);
    } else { fprintf(stderr, "unknown workload %s\n", w); return 2; }
    return 0;
}
