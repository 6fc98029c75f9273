/* common.h — what every layer of wyn shares: sanitizer detection, the fence that
 * TSan understands, futex calls, a small spinlock, and the fatal-error reporter.
 *
 * Naming: public wyn_*, internal non-static wyn__*, static helpers unprefixed.
 * Dependencies point one way: ctx <- stack <- sched <- chan. */
#ifndef WYN_COMMON_H
#define WYN_COMMON_H

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wyn.h"

#if defined(__SANITIZE_ADDRESS__)
#define WYN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WYN_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define WYN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WYN_TSAN 1
#endif
#endif

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define WYN_NOINLINE __attribute__((noinline))
/* For the few hot steps whose callers are in other files of the (single)
 * translation unit, where gcc's size heuristics would otherwise decide. */
#define WYN_ALWAYS_INLINE __attribute__((always_inline)) inline
#define WYN_CACHELINE 64

/* A sequentially consistent fence. TSan ignores atomic_thread_fence, so in a
 * TSan build it becomes a seq_cst read-modify-write of one shared word, which
 * orders the same way on x86 and which TSan models as acquire+release. */
#ifdef WYN_TSAN
extern _Atomic unsigned long wyn__tsan_fence_word;
#define wyn__fence_seq_cst() \
    ((void)atomic_fetch_add_explicit(&wyn__tsan_fence_word, 0, memory_order_seq_cst))
#else
#define wyn__fence_seq_cst() atomic_thread_fence(memory_order_seq_cst)
#endif

static inline void wyn__cpu_relax(void) { __builtin_ia32_pause(); }

/* One step of waiting for another thread to make progress: a pause, and
 * every 128th step the CPU given away, since that thread may have been
 * preempted. `spins` starts at 0 for each wait. */
static inline void wyn__wait_step(unsigned *spins)
{
    if (++*spins % 128 == 0)
        sched_yield();
    else
        wyn__cpu_relax();
}

/* Ask for p's cache line in a writable state (a hint: never faults). gcc's
 * __builtin_prefetch(p, 1) emits prefetchw only with -mprfchw; every x86-64
 * runs PREFETCHW (AMD has it, Intel has it since Broadwell and decodes it as
 * a NOP before), so it is written out. */
static inline void wyn__prefetch_write(const void *p)
{
#if defined(__x86_64__)
    /* The address goes in a register: no dereference the compiler could
     * reason from (p may be stale or NULL). */
    __asm__ volatile("prefetchw (%0)" ::"r"(p));
#else
    __builtin_prefetch(p, 1);
#endif
}

/* xorshift64: the runtime's one pseudo-random step (victim choice, select's
 * shuffle). *state must be non-zero. */
static inline uint64_t wyn__xorshift64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* futex on a 32-bit word; the deadline is absolute wyn_now() time or -1. */
int  wyn__futex_wait(_Atomic uint32_t *word, uint32_t expect, int64_t deadline);
void wyn__futex_wake(_Atomic uint32_t *word, int n);

/* A test-and-test-and-set lock for short critical sections (channel and sync
 * object internals). Spins, then yields the CPU, never sleeps on a futex: the
 * holder never blocks while holding it. */
typedef struct { _Atomic uint32_t held; } wyn__spinlock;
void wyn__spin_lock_slow(wyn__spinlock *l);
static inline void wyn__spin_lock(wyn__spinlock *l)
{
    /* acquire: what the previous holder wrote before its release is visible to us. */
    if (likely(!atomic_exchange_explicit(&l->held, 1, memory_order_acquire)))
        return;
    wyn__spin_lock_slow(l);
}
static inline void wyn__spin_unlock(wyn__spinlock *l)
{
    /* release: pairs with the acquire exchange of the next holder. */
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* Fatal misuse or internal error: prints "wyn: fatal: <what>", the current
 * coroutine's id and a backtrace, then aborts. */
_Noreturn void wyn__fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Checks that stay on in release builds (cheap, and a broken invariant here
 * would otherwise corrupt memory silently). */
#define WYN_ASSERT(cond)                                                         \
    do {                                                                         \
        if (unlikely(!(cond)))                                                   \
            wyn__fatal("internal error: %s (%s:%d)", #cond, __FILE__, __LINE__); \
    } while (0)

#endif
