#define _GNU_SOURCE
#include "CSandnetLinux.h"
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int sandnet_clone_newns(void) { return CLONE_NEWNS; }

int sandnet_private_sysfs(void) {
    if (unshare(CLONE_NEWNS) != 0) return -1;
    if (mount("", "/", NULL, MS_SLAVE | MS_REC, NULL) != 0) return -1;
    return mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

int sandnet_mknod_char(const char *path, unsigned int mode, unsigned int major, unsigned int minor) {
    return mknod(path, S_IFCHR | (mode & 07777), makedev(major, minor));
}
unsigned int sandnet_dev_major(unsigned long long dev) { return major((dev_t)dev); }
unsigned int sandnet_dev_minor(unsigned long long dev) { return minor((dev_t)dev); }

int sandnet_packet_socket(int ifindex) {
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) return -1;
    struct sockaddr_ll sa; memset(&sa, 0, sizeof sa);
    sa.sll_family = AF_PACKET; sa.sll_protocol = htons(ETH_P_ALL); sa.sll_ifindex = ifindex;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { close(fd); return -1; }
    return fd;
}
unsigned long sandnet_TUNSETVNETHDRSZ(void) { return TUNSETVNETHDRSZ; }
