#define _GNU_SOURCE
#include "CSandnetLinux.h"
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <dirent.h>
#include <stdlib.h>

int sandnet_setns(int fd, int nstype) { return setns(fd, nstype); }
int sandnet_unshare(int flags) { return unshare(flags); }
pid_t sandnet_gettid(void) { return (pid_t)syscall(SYS_gettid); }
int sandnet_clone_newnet(void) { return CLONE_NEWNET; }

int sandnet_tun_set_iff(int fd, char *name, uint16_t flags) {
    struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    ifr.ifr_flags = (short)flags;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) return -1;
    memcpy(name, ifr.ifr_name, IFNAMSIZ);
    return 0;
}
int sandnet_tun_get_iff(int fd, char *name, uint16_t *flags) {
    struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
    if (ioctl(fd, TUNGETIFF, &ifr) < 0) return -1;
    memcpy(name, ifr.ifr_name, IFNAMSIZ);
    *flags = (uint16_t)ifr.ifr_flags;
    return 0;
}
int sandnet_ioctl_int(int fd, unsigned long request, int value) { return ioctl(fd, request, value); }
int sandnet_ioctl_uint(int fd, unsigned long request, unsigned int value) { return ioctl(fd, request, value); }
int sandnet_tun_set_queue(int fd, uint16_t flags) {
    struct ifreq ifr; memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = (short)flags;
    return ioctl(fd, TUNSETQUEUE, &ifr);
}
int sandnet_tun_set_vnet_hdr_size(int fd, int size) { return ioctl(fd, TUNSETVNETHDRSZ, &size); }
unsigned long sandnet_TUNSETPERSIST(void) { return TUNSETPERSIST; }
unsigned long sandnet_TUNSETOWNER(void) { return TUNSETOWNER; }
unsigned long sandnet_TUNSETGROUP(void) { return TUNSETGROUP; }
unsigned long sandnet_TUNSETOFFLOAD(void) { return TUNSETOFFLOAD; }
int sandnet_vhost_set_owner(int fd) { return ioctl(fd, VHOST_SET_OWNER, NULL); }

int sandnet_mount_bind(const char *source, const char *target) { return mount(source, target, "none", MS_BIND, NULL); }
int sandnet_umount_detach(const char *target) { return umount2(target, MNT_DETACH); }
int sandnet_mount_make_shared_rec(const char *target) { return mount("", target, "none", MS_SHARED | MS_REC, NULL); }
int sandnet_mount_make_private(const char *target) { return mount("", target, "none", MS_PRIVATE, NULL); }
int sandnet_mount_bind_self(const char *target) { return mount(target, target, "none", MS_BIND | MS_REC, NULL); }

// Close every descriptor >= 3 not listed in keep. Used right before exec'ing QEMU.
int sandnet_close_range_except(const int *keep, int count) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int dfd = dirfd(d);
    int *victims = NULL; int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd < 3 || fd == dfd) continue;
        int keepit = 0;
        for (int i = 0; i < count; i++) if (keep[i] == fd) { keepit = 1; break; }
        if (keepit) continue;
        if (n == cap) { cap = cap ? cap * 2 : 64; victims = realloc(victims, cap * sizeof(int)); }
        victims[n++] = fd;
    }
    closedir(d);
    for (int i = 0; i < n; i++) close(victims[i]);
    free(victims);
    return 0;
}

#include <sys/socket.h>
#include <linux/netlink.h>

int sandnet_netlink_open(int protocol) { return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol); }
int sandnet_netlink_bind(int fd, uint32_t groups, uint32_t *port) {
    struct sockaddr_nl sa; memset(&sa, 0, sizeof sa);
    sa.nl_family = AF_NETLINK; sa.nl_pid = 0; sa.nl_groups = groups;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) return -1;
    socklen_t len = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0) return -1;
    *port = sa.nl_pid;
    return 0;
}
ssize_t sandnet_netlink_send(int fd, const void *buf, size_t len) {
    struct sockaddr_nl sa; memset(&sa, 0, sizeof sa);
    sa.nl_family = AF_NETLINK;
    return sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof sa);
}
ssize_t sandnet_netlink_recv(int fd, void *buf, size_t len, int flags, uint32_t *sender) {
    struct sockaddr_nl sa; memset(&sa, 0, sizeof sa);
    socklen_t alen = sizeof sa;
    ssize_t n = recvfrom(fd, buf, len, flags, (struct sockaddr *)&sa, &alen);
    if (n >= 0 && sender) *sender = sa.nl_pid;
    return n;
}
int sandnet_setsockopt_int(int fd, int level, int name, int value) { return setsockopt(fd, level, name, &value, sizeof value); }
int sandnet_SOL_NETLINK(void) { return SOL_NETLINK; }
// Sends to another netlink port (a userspace socket), not the kernel. Tests use it to
// forge replies from a sender that is not the kernel.
ssize_t sandnet_netlink_send_to(int fd, const void *buf, size_t len, uint32_t port) {
    struct sockaddr_nl sa; memset(&sa, 0, sizeof sa);
    sa.nl_family = AF_NETLINK; sa.nl_pid = port;
    return sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof sa);
}

#include <fcntl.h>
int sandnet_tun_get_dev_netns(int fd) {
    int ns = ioctl(fd, TUNGETDEVNETNS);
    if (ns >= 0) fcntl(ns, F_SETFD, FD_CLOEXEC);
    return ns;
}
int sandnet_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

#include <sys/syscall.h>
// SO_NETNS_COOKIE (Linux 5.14): the 64-bit cookie of the socket's network namespace,
// never reused while the system runs. -1 with errno ENOPROTOOPT on older kernels.
int sandnet_netns_cookie(int fd, uint64_t *cookie) {
    socklen_t len = sizeof *cookie;
    return getsockopt(fd, SOL_SOCKET, 71 /* SO_NETNS_COOKIE */, cookie, &len);
}
// A socket only to ask the kernel about the namespace it is made in.
int sandnet_probe_socket(void) { return socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0); }
// A CLOEXEC copy of descriptor `fd` of process `pid` (pidfd_open + pidfd_getfd, Linux 5.6),
// or -1 with errno (ESRCH: gone, EBADF: no such descriptor, ENOSYS: too old a kernel).
int sandnet_copy_descriptor(pid_t pid, int fd) {
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) return -1;
    int copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
    int saved = errno;
    close(pidfd);
    errno = saved;
    return copy;
}
