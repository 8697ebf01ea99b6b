// Thin C shims for Linux calls Swift cannot reach directly: variadic ioctl,
// setns/unshare (need _GNU_SOURCE), gettid, and a few struct layouts.
#ifndef CSANDNET_LINUX_H
#define CSANDNET_LINUX_H
#include <stdint.h>
#include <sys/types.h>

int sandnet_setns(int fd, int nstype);
int sandnet_unshare(int flags);
pid_t sandnet_gettid(void);
int sandnet_clone_newnet(void);

// TUNSETIFF: name in/out (IFNAMSIZ), flags. Returns 0 or -1 with errno.
int sandnet_tun_set_iff(int fd, char *name, uint16_t flags);
int sandnet_tun_get_iff(int fd, char *name, uint16_t *flags);
int sandnet_ioctl_int(int fd, unsigned long request, int value);
int sandnet_ioctl_uint(int fd, unsigned long request, unsigned int value);
int sandnet_tun_set_queue(int fd, uint16_t flags);
int sandnet_tun_set_vnet_hdr_size(int fd, int size);
unsigned long sandnet_TUNSETPERSIST(void);
unsigned long sandnet_TUNSETOWNER(void);
unsigned long sandnet_TUNSETGROUP(void);
unsigned long sandnet_TUNSETOFFLOAD(void);
// VHOST_SET_OWNER, for probing /dev/vhost-net.
int sandnet_vhost_set_owner(int fd);

int sandnet_mount_bind(const char *source, const char *target);
int sandnet_umount_detach(const char *target);
int sandnet_mount_make_shared_rec(const char *target);
int sandnet_mount_make_private(const char *target);
int sandnet_mount_bind_self(const char *target);
int sandnet_close_range_except(const int *keep, int count);

// Netlink socket helpers (struct sockaddr_nl lives in <linux/netlink.h>).
// Return -1 with errno on failure.
int sandnet_netlink_open(int protocol);                 // SOCK_RAW|SOCK_CLOEXEC
int sandnet_netlink_bind(int fd, uint32_t groups, uint32_t *port);
ssize_t sandnet_netlink_send(int fd, const void *buf, size_t len);
// Receives one datagram; *sender gets nl_pid of the sender (0 = kernel).
ssize_t sandnet_netlink_recv(int fd, void *buf, size_t len, int flags, uint32_t *sender);
int sandnet_setsockopt_int(int fd, int level, int name, int value);
int sandnet_SOL_NETLINK(void);
ssize_t sandnet_netlink_send_to(int fd, const void *buf, size_t len, uint32_t port);

// Tap and macvtap helpers (taps.c). Return -1 with errno on failure.
int sandnet_clone_newns(void);
// Moves the calling thread into a private mount namespace whose mounts do not propagate
// back, then mounts a sysfs that shows the thread's current network namespace at /sys.
int sandnet_private_sysfs(void);
int sandnet_mknod_char(const char *path, unsigned int mode, unsigned int major, unsigned int minor);
unsigned int sandnet_dev_major(unsigned long long dev);
unsigned int sandnet_dev_minor(unsigned long long dev);
// AF_PACKET SOCK_RAW socket for every protocol, CLOEXEC, bound to ifindex.
int sandnet_packet_socket(int ifindex);
unsigned long sandnet_TUNSETVNETHDRSZ(void);
// TUNGETDEVNETNS: a new CLOEXEC descriptor of the namespace the tap lives in, or -1.
int sandnet_tun_get_dev_netns(int fd);
// pipe2(O_CLOEXEC): both ends close-on-exec from birth, no window for a concurrent spawn.
int sandnet_pipe_cloexec(int fds[2]);

// SO_NETNS_COOKIE of socket `fd` into *cookie; -1 with errno (ENOPROTOOPT before Linux 5.14).
int sandnet_netns_cookie(int fd, uint64_t *cookie);
int sandnet_probe_socket(void);                       // AF_UNIX datagram, CLOEXEC
int sandnet_copy_descriptor(pid_t pid, int fd);       // pidfd_getfd: CLOEXEC copy of another process's fd
// Unix stream sockets (unix.c), for QMP and the guest channel. Return -1 with errno.
// Connects a SOCK_STREAM|SOCK_CLOEXEC socket to `path` (ENAMETOOLONG when it does not fit).
int sandnet_unix_connect(const char *path);
// sendmsg with MSG_NOSIGNAL; when fd >= 0 it travels as SCM_RIGHTS ancillary data.
ssize_t sandnet_send_with_fd(int sock, const void *buf, size_t len, int fd);
#endif
