// The floor: the same netlink requests sandnet makes, in C on libmnl, with the least
// work that still decodes replies into records. Built by scripts/bench.sh:
//   cc -O2 -o floor floor.c -lmnl
// Usage: floor w1 NETNS RUNS   -> per-run nanoseconds of a full scan (links, addresses,
//                                 routes, neighbours), then counts and maxrss
//        floor w3 NETNS CYCLES -> nanoseconds for CYCLES namespace-bound socket open/close
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct record { int index; unsigned mtu; unsigned char family, prefix; char name[16]; unsigned char addr[16], gw[16]; };
static struct record *records; static size_t count, capacity;

static struct record *next_record(void) {
    if (count == capacity) { capacity = capacity ? capacity * 2 : 1024; records = realloc(records, capacity * sizeof *records); }
    struct record *r = &records[count++]; memset(r, 0, sizeof *r); return r;
}
// VmHWM, not getrusage's ru_maxrss: the latter survives execve and would report the
// peak of the (much larger) process that spawned us.
static long peak_rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r"); char line[256]; long kb = -1;
    while (f && fgets(line, sizeof line, f)) if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}
static long long now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }

static int link_attr(const struct nlattr *a, void *data) {
    struct record *r = data;
    switch (mnl_attr_get_type(a)) {
    case IFLA_IFNAME: strncpy(r->name, mnl_attr_get_str(a), 15); break;
    case IFLA_MTU: r->mtu = mnl_attr_get_u32(a); break;
    case IFLA_ADDRESS: memcpy(r->addr, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a) > 16 ? 16 : mnl_attr_get_payload_len(a)); break;
    }
    return MNL_CB_OK;
}
static int addr_attr(const struct nlattr *a, void *data) {
    struct record *r = data; int t = mnl_attr_get_type(a);
    if (t == IFA_ADDRESS || t == IFA_LOCAL || t == RTA_DST || t == NDA_DST)
        memcpy(r->addr, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a) > 16 ? 16 : mnl_attr_get_payload_len(a));
    if (t == RTA_GATEWAY) memcpy(r->gw, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a) > 16 ? 16 : mnl_attr_get_payload_len(a));
    return MNL_CB_OK;
}
static int on_message(const struct nlmsghdr *n, void *data) {
    (void)data; struct record *r = next_record();
    switch (n->nlmsg_type) {
    case RTM_NEWLINK: { struct ifinfomsg *i = mnl_nlmsg_get_payload(n); r->index = i->ifi_index;
        mnl_attr_parse(n, sizeof *i, link_attr, r); break; }
    case RTM_NEWADDR: { struct ifaddrmsg *i = mnl_nlmsg_get_payload(n); r->index = i->ifa_index; r->prefix = i->ifa_prefixlen;
        mnl_attr_parse(n, sizeof *i, addr_attr, r); break; }
    case RTM_NEWROUTE: { struct rtmsg *i = mnl_nlmsg_get_payload(n); r->family = i->rtm_family; r->prefix = i->rtm_dst_len;
        mnl_attr_parse(n, sizeof *i, addr_attr, r); break; }
    case RTM_NEWNEIGH: { struct ndmsg *i = mnl_nlmsg_get_payload(n); r->index = i->ndm_ifindex;
        mnl_attr_parse(n, sizeof *i, addr_attr, r); break; }
    }
    return MNL_CB_OK;
}

static char buf[1 << 16];
static int ends_dump(const char *b, ssize_t len) {
    const struct nlmsghdr *n = (const struct nlmsghdr *)b; int left = (int)len;
    for (; mnl_nlmsg_ok(n, left); n = mnl_nlmsg_next(n, &left))
        if (n->nlmsg_type == NLMSG_DONE || n->nlmsg_type == NLMSG_ERROR) return 1;
    return 0;
}
// One dump, decoded into records. libmnl reports NLM_F_DUMP_INTR as EINTR: then the
// rest of the dump is drained and the dump runs again, as sandnet does.
static size_t dump(struct mnl_socket *nl, int type, size_t header_size) {
    size_t before = count;
again:
    count = before;
    struct nlmsghdr *n = mnl_nlmsg_put_header(buf);
    n->nlmsg_type = type; n->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    unsigned seq = n->nlmsg_seq = (unsigned)time(NULL) + type;
    mnl_nlmsg_put_extra_header(n, header_size);   // zeroed: AF_UNSPEC, no filter
    if (mnl_socket_sendto(nl, n, n->nlmsg_len) < 0) { perror("sendto"); exit(1); }
    unsigned port = mnl_socket_get_portid(nl);
    int interrupted = 0;
    for (;;) {
        ssize_t len = mnl_socket_recvfrom(nl, buf, sizeof buf);
        if (len < 0) { perror("recvfrom"); exit(1); }
        int ret = mnl_cb_run(buf, len, seq, port, on_message, NULL);
        if (ret < 0 && errno == EINTR) { interrupted = 1; if (ends_dump(buf, len)) break; continue; }
        if (ret <= MNL_CB_STOP) { if (ret < 0) { perror("dump"); exit(1); } break; }
    }
    if (interrupted) goto again;
    return count - before;
}

static void enter(const char *netns) {
    char path[256]; snprintf(path, sizeof path, "/run/netns/%s", netns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) { perror(path); exit(1); }
    close(fd);
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: floor w1|w3 NETNS N\n"); return 2; }
    int n = atoi(argv[3]);
    if (strcmp(argv[1], "w1") == 0) {
        enter(argv[2]);
        struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) { perror("mnl"); return 1; }
        size_t links = 0, addrs = 0, routes = 0, neigh = 0;
        for (int i = 0; i < n; i++) {
            count = 0;
            long long t0 = now_ns();
            links = dump(nl, RTM_GETLINK, sizeof(struct ifinfomsg));
            addrs = dump(nl, RTM_GETADDR, sizeof(struct ifaddrmsg));
            routes = dump(nl, RTM_GETROUTE, sizeof(struct rtmsg));
            neigh = dump(nl, RTM_GETNEIGH, sizeof(struct ndmsg));
            printf("run %lld\n", now_ns() - t0);
        }
        printf("counts links=%zu addresses=%zu routes=%zu neighbours=%zu\nmaxrss_kb %ld\n", links, addrs, routes, neigh, peak_rss_kb());
        mnl_socket_close(nl);
    } else if (strcmp(argv[1], "w3") == 0) {
        char path[256]; snprintf(path, sizeof path, "/run/netns/%s", argv[2]);
        int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        long long t0 = now_ns();
        for (int i = 0; i < n; i++) {
            // Same steps as a namespace-bound handle: open the netns, enter, socket+bind, go home.
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) { perror(path); return 1; }
            struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
            if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) { perror("mnl"); return 1; }
            if (setns(home, CLONE_NEWNET) != 0) { perror("setns home"); return 1; }
            close(fd);
            mnl_socket_close(nl);
        }
        printf("total %lld\n", now_ns() - t0);
    } else { fprintf(stderr, "unknown workload %s\n", argv[1]); return 2; }
    return 0;
}
