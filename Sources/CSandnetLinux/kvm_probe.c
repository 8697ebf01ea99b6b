// The KVM usability probe: a throwaway VM that runs the guest code of
// kvm_probe_guest_x86_64.S on its own anonymous memory, on a fresh thread whose KVM_RUN a
// watchdog interrupts when time is up. Opening /dev/kvm says nothing about whether a guest
// can run: under a broken nested hypervisor real-mode code runs and a Linux boot hangs.
#define _GNU_SOURCE
#include "CSandnetLinux.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__linux__)
#include <linux/kvm.h>

extern const unsigned char sandnet_kvm_guest_x86_64_start[];
extern const unsigned char sandnet_kvm_guest_x86_64_end[];

#define GUEST_MEMORY (2u << 20)
#define GUEST_CODE 0x8000
#define GUEST_TICKS 0x7f00
#define PROBE_PORT 0x10
// Directed at the vCPU thread only, which blocks it except inside KVM_RUN (KVM_SET_SIGNAL_MASK):
// it interrupts KVM_RUN and is never delivered, so no process-wide handler is involved.
#define KICK_SIGNAL SIGUSR2

struct probe {
    int kvm, vm, vcpu;
    unsigned char *memory;
    struct kvm_run *run;
    size_t run_size;
    struct sandnet_kvm_probe_result *result;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int finished;
    volatile int timed_out;
    uint64_t start_us;
};

static uint64_t now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

// The guest's compute loop (kvm_probe_guest_x86_64.S), run natively: the best of three.
static uint64_t native_loop_us(void) {
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = now_us();
        unsigned int n = SANDNET_KVM_LOOP, sum = 0;
        __asm__ volatile("1: add %0, %1\n\tdec %0\n\tjnz 1b" : "+r"(n), "+r"(sum) : : "cc");
        uint64_t t = now_us() - t0;
        if (t < best) best = t;
    }
    return best;
}

static int fail(struct sandnet_kvm_probe_result *r, const char *call) {
    r->failed_errno = errno;
    snprintf(r->failed_call, sizeof r->failed_call, "%s", call);
    return -1;
}

// 0-2 MiB identity-mapped; the 2 MiB page with the local APIC (0xfee00000) uncached.
static void build_page_tables(unsigned char *m) {
    uint64_t *pml4 = (uint64_t *)(m + 0x1000), *pdpt = (uint64_t *)(m + 0x2000);
    uint64_t *pd_low = (uint64_t *)(m + 0x3000), *pd_high = (uint64_t *)(m + 0x4000);
    const uint64_t present_rw = 0x3, large = 0x80, uncached = 0x10;
    pml4[0] = 0x2000 | present_rw;
    pdpt[0] = 0x3000 | present_rw;
    pdpt[3] = 0x4000 | present_rw;
    pd_low[0] = 0x0 | present_rw | large;
    pd_high[(0xfee00000u - 0xc0000000u) >> 21] = 0xfee00000u | present_rw | large | uncached;
}

static int set_up(struct probe *p) {
    struct sandnet_kvm_probe_result *r = p->result;
    p->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (p->kvm < 0) return fail(r, "open /dev/kvm");
    r->stage = SANDNET_KVM_OPENED;
    int api = ioctl(p->kvm, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        if (api >= 0) errno = EPROTO;
        return fail(r, "KVM_GET_API_VERSION");
    }
    p->vm = ioctl(p->kvm, KVM_CREATE_VM, 0);
    if (p->vm < 0) return fail(r, "KVM_CREATE_VM");
    r->stage = SANDNET_KVM_VM_CREATED;
    // Intel VMX needs a TSS region below 4 GiB for real mode; harmless on AMD.
    if (ioctl(p->vm, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0) return fail(r, "KVM_SET_TSS_ADDR");
    if (ioctl(p->vm, KVM_CREATE_IRQCHIP, 0) < 0) return fail(r, "KVM_CREATE_IRQCHIP");
    p->memory = mmap(NULL, GUEST_MEMORY, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p->memory == MAP_FAILED) {
        p->memory = NULL;
        return fail(r, "mmap guest memory");
    }
    size_t code = (size_t)(sandnet_kvm_guest_x86_64_end - sandnet_kvm_guest_x86_64_start);
    memcpy(p->memory + GUEST_CODE, sandnet_kvm_guest_x86_64_start, code);
    build_page_tables(p->memory);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEMORY, .userspace_addr = (uint64_t)(uintptr_t)p->memory};
    if (ioctl(p->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) return fail(r, "KVM_SET_USER_MEMORY_REGION");
    r->stage = SANDNET_KVM_MEMORY;

    p->vcpu = ioctl(p->vm, KVM_CREATE_VCPU, 0);
    if (p->vcpu < 0) return fail(r, "KVM_CREATE_VCPU");
    int size = ioctl(p->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size < (int)sizeof(struct kvm_run)) return fail(r, "KVM_GET_VCPU_MMAP_SIZE");
    p->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, p->vcpu, 0);
    if (p->run == MAP_FAILED) {
        p->run = NULL;
        return fail(r, "mmap kvm_run");
    }
    p->run_size = (size_t)size;
    r->stage = SANDNET_KVM_VCPU_CREATED;

    // The guest may enter long mode only if its CPUID says it has it (KVM checks EFER.LME).
    int entries = 256;
    struct kvm_cpuid2 *cpuid = calloc(1, sizeof *cpuid + (size_t)entries * sizeof(struct kvm_cpuid_entry2));
    if (!cpuid) return fail(r, "calloc cpuid");
    cpuid->nent = (uint32_t)entries;
    int ok = ioctl(p->kvm, KVM_GET_SUPPORTED_CPUID, cpuid) == 0 ? 1 : (fail(r, "KVM_GET_SUPPORTED_CPUID"), 0);
    if (ok && ioctl(p->vcpu, KVM_SET_CPUID2, cpuid) < 0) ok = (fail(r, "KVM_SET_CPUID2"), 0);
    free(cpuid);
    if (!ok) return -1;

    // Real mode at 0000:8000, as a boot loader leaves a kernel's setup code.
    struct kvm_sregs sregs;
    if (ioctl(p->vcpu, KVM_GET_SREGS, &sregs) < 0) return fail(r, "KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(p->vcpu, KVM_SET_SREGS, &sregs) < 0) return fail(r, "KVM_SET_SREGS");
    struct kvm_regs regs = {.rip = GUEST_CODE, .rflags = 0x2, .rsp = 0x7000};
    if (ioctl(p->vcpu, KVM_SET_REGS, &regs) < 0) return fail(r, "KVM_SET_REGS");

    // Inside KVM_RUN only the kick signal is unblocked (kernel sigset: 8 bytes).
    _Alignas(8) unsigned char buffer[sizeof(struct kvm_signal_mask) + 8];
    struct kvm_signal_mask *mask = (struct kvm_signal_mask *)buffer;
    uint64_t set = ~(1ull << (KICK_SIGNAL - 1));
    mask->len = 8;
    memcpy(mask->sigset, &set, sizeof set);
    if (ioctl(p->vcpu, KVM_SET_SIGNAL_MASK, mask) < 0) return fail(r, "KVM_SET_SIGNAL_MASK");
    return 0;
}

// Runs until the guest reports done, fails, or the watchdog kicks it.
static void run_guest(struct probe *p) {
    struct sandnet_kvm_probe_result *r = p->result;
    for (;;) {
        int rc = ioctl(p->vcpu, KVM_RUN, 0);
        r->runs++;
        if (rc < 0) {
            if ((errno == EINTR || errno == EAGAIN) && !p->timed_out) continue;
            if (p->timed_out) {
                r->timed_out = 1;
                struct kvm_regs regs;
                if (ioctl(p->vcpu, KVM_GET_REGS, &regs) == 0) r->guest_rip = regs.rip;
                return;
            }
            fail(r, "KVM_RUN");
            return;
        }
        struct kvm_run *run = p->run;
        r->exit_reason = run->exit_reason;
        if (run->exit_reason == KVM_EXIT_IO && run->io.port == PROBE_PORT && run->io.direction == KVM_EXIT_IO_OUT) {
            unsigned char stage = *((unsigned char *)run + run->io.data_offset);
            if (stage > r->guest_stage) r->guest_stage = stage;
            if (stage < 16 && r->stage_us[stage] == 0) r->stage_us[stage] = now_us() - p->start_us;
            memcpy(&r->ticks, p->memory + GUEST_TICKS, sizeof r->ticks);
            if (stage >= SANDNET_KVM_GUEST_DONE) return;
            continue;
        }
        struct kvm_regs regs;
        if (ioctl(p->vcpu, KVM_GET_REGS, &regs) == 0) r->guest_rip = regs.rip;
        r->unexpected_exit = 1;
        return; // any other exit (shutdown = triple fault, internal error, failed entry) ends it
    }
}

static void *vcpu_thread(void *arg) {
    struct probe *p = arg;
    run_guest(p);
    pthread_mutex_lock(&p->lock);
    p->finished = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int sandnet_kvm_probe(int timeout_ms, struct sandnet_kvm_probe_result *r) {
    memset(r, 0, sizeof *r);
    struct probe p = {.kvm = -1, .vm = -1, .vcpu = -1, .result = r};
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.cond, NULL);
    r->native_loop_us = native_loop_us();
    uint64_t start = now_us();
    p.start_us = start;
    int rc = -1;
    if (set_up(&p) == 0) {
        // The vCPU thread starts with every signal blocked; KVM_RUN's own mask unblocks the kick.
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pthread_t thread;
        int err = pthread_create(&thread, NULL, vcpu_thread, &p);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (err != 0) {
            errno = err;
            fail(r, "pthread_create");
        } else {
            r->stage = SANDNET_KVM_RAN;
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_sec += timeout_ms / 1000;
            deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
            if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
            }
            pthread_mutex_lock(&p.lock);
            while (!p.finished) {
                if (pthread_cond_timedwait(&p.cond, &p.lock, &deadline) == ETIMEDOUT) break;
            }
            // Time is up: immediate_exit covers a kick that lands between two KVM_RUNs.
            while (!p.finished) {
                p.timed_out = 1;
                p.run->immediate_exit = 1;
                pthread_kill(thread, KICK_SIGNAL);
                struct timespec soon;
                clock_gettime(CLOCK_REALTIME, &soon);
                soon.tv_nsec += 10000000L;
                if (soon.tv_nsec >= 1000000000L) {
                    soon.tv_sec++;
                    soon.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&p.cond, &p.lock, &soon);
            }
            pthread_mutex_unlock(&p.lock);
            pthread_join(thread, NULL);
            rc = 0;
        }
    }
    r->elapsed_us = now_us() - start;
    if (p.run) munmap(p.run, p.run_size);
    if (p.memory) munmap(p.memory, GUEST_MEMORY);
    if (p.vcpu >= 0) close(p.vcpu);
    if (p.vm >= 0) close(p.vm);
    if (p.kvm >= 0) close(p.kvm);
    pthread_mutex_destroy(&p.lock);
    pthread_cond_destroy(&p.cond);
    return rc;
}

int sandnet_kvm_probe_supported(void) { return 1; }

#else

int sandnet_kvm_probe(int timeout_ms, struct sandnet_kvm_probe_result *r) {
    (void)timeout_ms;
    memset(r, 0, sizeof *r);
    errno = ENOSYS;
    snprintf(r->failed_call, sizeof r->failed_call, "no probe for this architecture");
    r->failed_errno = ENOSYS;
    return -1;
}

int sandnet_kvm_probe_supported(void) { return 0; }

#endif
