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
// The KVM usability probe (kvm_probe.c): a throwaway VM and vCPU running the guest code of
// kvm_probe_guest_x86_64.S, bounded by timeout_ms. Host-side stages, in order:
enum {
    SANDNET_KVM_NOTHING = 0,
    SANDNET_KVM_OPENED = 1,       // /dev/kvm opened, API version 12
    SANDNET_KVM_VM_CREATED = 2,   // KVM_CREATE_VM (+ TSS, in-kernel irqchip)
    SANDNET_KVM_MEMORY = 3,       // guest memory mapped and registered
    SANDNET_KVM_VCPU_CREATED = 4, // vCPU, kvm_run, CPUID, registers, signal mask
    SANDNET_KVM_RAN = 5           // KVM_RUN entered at least once
};
// Guest-side stages, as the guest reports them on its I/O port.
enum {
    SANDNET_KVM_GUEST_REAL_MODE = 1,
    SANDNET_KVM_GUEST_PROTECTED_MODE = 2,
    SANDNET_KVM_GUEST_LONG_MODE = 3,
    SANDNET_KVM_GUEST_TIMER_ARMED = 4,
    SANDNET_KVM_GUEST_INTERRUPT = 5,
    SANDNET_KVM_GUEST_TICKS = 6,    // three timer interrupts
    SANDNET_KVM_GUEST_DONE = 7      // the compute loop finished
};
// Iterations of the compute loop, in the guest and natively (keep in step with the .S file).
#define SANDNET_KVM_LOOP 0x400000
struct sandnet_kvm_probe_result {
    int stage;               // host-side stage reached
    int guest_stage;         // furthest guest stage reported (0: none)
    int failed_errno;        // of failed_call, when one failed
    char failed_call[48];    // the call that failed ("" none)
    uint32_t exit_reason;    // the last KVM exit (KVM_EXIT_*)
    int timed_out;           // the watchdog stopped the vCPU
    uint32_t ticks;          // timer interrupts the guest handled
    uint32_t runs;           // KVM_RUN calls
    uint64_t guest_rip;      // at an unexpected exit
    uint64_t elapsed_us;
    uint64_t stage_us[16];   // when each guest stage was reported, from KVM_RUN's start
    uint64_t native_loop_us; // the compute loop on the host
    int unexpected_exit;     // an exit the probe did not ask for ended the run
};
// 0 when the guest ran (see the result for how far), -1 when setting it up failed.
int sandnet_kvm_probe(int timeout_ms, struct sandnet_kvm_probe_result *result);
// 1 when this build has a probe for the host architecture.
int sandnet_kvm_probe_supported(void);

// Unix stream sockets (unix.c), for QMP and the guest channel. Return -1 with errno.
// Connects a SOCK_STREAM|SOCK_CLOEXEC socket to `path` (ENAMETOOLONG when it does not fit).
int sandnet_unix_connect(const char *path);
// sendmsg with MSG_NOSIGNAL; when fd >= 0 it travels as SCM_RIGHTS ancillary data.
ssize_t sandnet_send_with_fd(int sock, const void *buf, size_t len, int fd);

// Namespace worker threads (NamespaceThreadPool). A wake-up is one 32-bit word that one
// thread posts and one other thread waits on: 0 nothing, 1 posted, 2 the waiter sleeps
// on the futex. Posting only makes a system call when the waiter sleeps.
void sandnet_wakeup_post(uint32_t *word);
void sandnet_wakeup_wait(uint32_t *word);        // returns once posted; consumes the post
// The hand-off to a worker pinned to the caller's own CPU (see namespace_worker.c).
struct sandnet_handoff {
    uint32_t mail;      // wake-up word: a job (or stop) for the worker
    uint32_t done;      // wake-up word: the job is done
    uint32_t job_ns;    // how long the worker's last job ran, saturated; written before `done`
    uint32_t skip;      // caller side: hand-offs left that sleep without trying a yield
    uint32_t backoff;   // caller side: the next `skip` after a yield that did not pay
};
// The wake-up words by role, so Swift never forms pointers into the struct itself.
void sandnet_handoff_post_mail(struct sandnet_handoff *h);
void sandnet_handoff_wait_mail(struct sandnet_handoff *h);
void sandnet_handoff_wait_done(struct sandnet_handoff *h);
int sandnet_handoff_done_posted(const struct sandnet_handoff *h); // a post not yet consumed
// Posts `done` after storing how long the job ran.
void sandnet_handoff_finish(struct sandnet_handoff *h, uint64_t job_ns);
// Waits for `done` after posting `mail` to a worker that is pinned to this CPU.
void sandnet_handoff_wait_local(struct sandnet_handoff *h);
uint64_t sandnet_monotonic_ns(void);
int sandnet_current_cpu(void);                   // sched_getcpu(), -1 when unknown
// Starts a detached thread running entry(context); pinned to `cpu` when cpu >= 0 and the
// process may run there (*pinned says whether it is). 0 or an errno.
int sandnet_start_thread(int cpu, void (*entry)(void *), void *context, int *pinned);
void sandnet_name_thread(const char *name);      // the calling thread's, via prctl
#endif
