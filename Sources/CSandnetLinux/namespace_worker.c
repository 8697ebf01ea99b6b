#define _GNU_SOURCE
#include "CSandnetLinux.h"
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

void sandnet_wakeup_post(uint32_t *word) {
    // The waiter sets 2 before it sleeps, so a post that replaces 2 must wake it.
    if (__atomic_exchange_n(word, 1, __ATOMIC_SEQ_CST) == 2)
        syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void sandnet_wakeup_wait(uint32_t *word) {
    for (;;) {
        uint32_t seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        if (seen == 1) {
            __atomic_store_n(word, 0, __ATOMIC_RELEASE);
            return;
        }
        if (seen == 0 && !__atomic_compare_exchange_n(word, &seen, 2, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            continue; // posted meanwhile
        // Sleeps only while the word is still 2; EINTR and EAGAIN just look again.
        syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
    }
}

int sandnet_wakeup_is_posted(const uint32_t *word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE) == 1; }

int sandnet_current_cpu(void) { return sched_getcpu(); }

struct start { void (*entry)(void *); void *context; };

static void *trampoline(void *arg) {
    struct start s = *(struct start *)arg;
    free(arg);
    s.entry(s.context);
    return NULL;
}

int sandnet_start_thread(int cpu, void (*entry)(void *), void *context, int *pinned) {
    struct start *s = malloc(sizeof *s);
    if (!s) return ENOMEM;
    s->entry = entry;
    s->context = context;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    *pinned = 0;
    if (cpu >= 0 && cpu < CPU_SETSIZE) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        *pinned = pthread_attr_setaffinity_np(&attr, sizeof set, &set) == 0;
    }
    pthread_t thread;
    int e = pthread_create(&thread, &attr, trampoline, s);
    if (e == EINVAL && *pinned) {
        // The CPU is outside what this process may use (a cpuset): run unpinned.
        pthread_attr_destroy(&attr);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        *pinned = 0;
        e = pthread_create(&thread, &attr, trampoline, s);
    }
    pthread_attr_destroy(&attr);
    if (e != 0) free(s);
    return e;
}

void sandnet_name_thread(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }
