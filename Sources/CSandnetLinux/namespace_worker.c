#define _GNU_SOURCE
#include "CSandnetLinux.h"
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
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

uint64_t sandnet_monotonic_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void sandnet_handoff_post_mail(struct sandnet_handoff *h) { sandnet_wakeup_post(&h->mail); }
void sandnet_handoff_wait_mail(struct sandnet_handoff *h) { sandnet_wakeup_wait(&h->mail); }
void sandnet_handoff_wait_done(struct sandnet_handoff *h) { sandnet_wakeup_wait(&h->done); }

void sandnet_handoff_finish(struct sandnet_handoff *h, uint64_t job_ns) {
    __atomic_store_n(&h->job_ns, job_ns > UINT32_MAX ? UINT32_MAX : (uint32_t)job_ns, __ATOMIC_RELAXED);
    sandnet_wakeup_post(&h->done); // its exchange orders job_ns before the post
}

// Time a yield may spend beyond the worker's own job before it counts as lost to other
// tasks on this CPU (a time slice of theirs is milliseconds).
#define FOREIGN_LIMIT_NS 50000u
#define BACKOFF_FIRST 64u
#define BACKOFF_MAX 65536u

void sandnet_handoff_wait_local(struct sandnet_handoff *h) {
    // The worker was just woken on this CPU. Sleeping here would make the worker's post
    // a wake-up, and the scheduler often places a woken thread on an idle CPU: an
    // inter-processor interrupt and a halted vCPU to wake, tens of microseconds in a VM.
    // A yield instead hands this CPU to the worker and keeps the caller runnable, so the
    // post needs no wake-up at all. When other tasks share the CPU the yield may give one
    // of them a whole time slice: such a yield is detected by its time beyond the job,
    // and the next hand-offs just sleep, for exponentially longer each time it happens.
    if (h->skip > 0) {
        h->skip--;
        sandnet_wakeup_wait(&h->done);
        return;
    }
    if (__atomic_load_n(&h->done, __ATOMIC_ACQUIRE) != 1) {
        uint64_t start = sandnet_monotonic_ns();
        sched_yield();
        int paid = 0;
        if (__atomic_load_n(&h->done, __ATOMIC_ACQUIRE) == 1) {
            uint64_t spent = sandnet_monotonic_ns() - start;
            uint32_t job = __atomic_load_n(&h->job_ns, __ATOMIC_RELAXED);
            paid = spent <= (uint64_t)job + FOREIGN_LIMIT_NS;
        }
        if (paid) {
            h->backoff = 0;
        } else {
            // Not done (the worker did not get the CPU: another task, a real-time caller,
            // a migration) or done only after something else ran.
            h->backoff = h->backoff == 0 ? BACKOFF_FIRST : (h->backoff >= BACKOFF_MAX ? BACKOFF_MAX : h->backoff * 2);
            h->skip = h->backoff;
        }
    }
    sandnet_wakeup_wait(&h->done);
}

int sandnet_handoff_done_posted(const struct sandnet_handoff *h) { return __atomic_load_n(&h->done, __ATOMIC_ACQUIRE) == 1; }

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
