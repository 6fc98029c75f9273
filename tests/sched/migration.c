/* migration: what a coroutine may rely on when it resumes on another thread.
 * With $WYN_DEBUG_MIGRATE=1 the runtime moves a coroutine to another worker at
 * every resume whenever there are >= 2 workers.
 *
 * Hunts: errno not saved and restored per coroutine (its value must survive
 * yields, sleeps and joins even though the thread, and so errno's address,
 * changes; the check fails with both values); wyn_self() changing with the
 * thread; a thread-local read through a non-inlined accessor reflecting the
 * old thread (fails as "stale thread-local"); and, at >= 2 workers, the debug
 * migration mode not migrating at all (fails as "never migrated"), which would
 * make every other test run with it meaningless. Values are checked at every
 * worker count; migration is asserted only at >= 2. */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

static _Thread_local uintptr_t tl_token;   /* this thread's pthread_self, set lazily */

/* Non-inlined accessors with a compiler barrier: the compiler may not reuse a
 * TLS address or a pthread_self() value computed before a switch. */
__attribute__((noinline)) static uintptr_t current_thread(void)
{
    __asm__ volatile("" ::: "memory");
    return (uintptr_t)pthread_self();
}

__attribute__((noinline)) static uintptr_t thread_token(void)
{
    __asm__ volatile("" ::: "memory");
    if (!tl_token)
        tl_token = (uintptr_t)pthread_self();
    return tl_token;
}

__attribute__((noinline)) static uintptr_t tl_address(void)
{
    /* Launder the address through asm: clang (before 16) treats a
     * thread-local's address as a constant, and interprocedural constant
     * propagation would hand the caller the first thread's address even
     * though this function is never inlined. */
    uintptr_t a = (uintptr_t)&tl_token;
    __asm__ volatile("" : "+r"(a) : : "memory");
    return a;
}

__attribute__((noinline)) static void set_errno(int v)
{
    __asm__ volatile("" ::: "memory");
    errno = v;
}

__attribute__((noinline)) static int get_errno(void)
{
    __asm__ volatile("" ::: "memory");
    return errno;
}

static _Atomic long migrations, tl_moves, resumes;

static void nothing(void *arg) { (void)arg; }

struct wanderer_arg {
    int  index;
    long iters;
};

static void wanderer(void *argp)
{
    struct wanderer_arg *a = argp;
    uint64_t me = wyn_self();
    CHECK(me != 0);
    long moved = 0, tl_moved = 0;
    for (long i = 0; i < a->iters; i++) {
        int v = a->index * 1000003 + (int)i + 1;   /* unique, never 0 */
        set_errno(v);
        uintptr_t before = current_thread(), tl_before = tl_address();
        CHECK_EQ(thread_token(), before);
        switch (i % 8) {
        case 0:
            CHECK_EQ(wyn_sleep(1000), 0);
            break;
        case 1: {
            wyn_co *h;
            CHECK_EQ(wyn_spawn_ex(nothing, NULL, &(wyn_spawn_opts){.join = &h}), 0);
            CHECK_EQ(wyn_join(h, WYN_FOREVER), 0);
            break;
        }
        case 2:
            CHECK_EQ(wyn_sleep_until(0), 0);   /* no wait: may or may not switch */
            break;
        default:
            wyn_yield();
            break;
        }
        int got = get_errno();
        if (got != v) {
            fprintf(stderr, "coroutine %d iteration %ld: errno %d after a switch, expected %d\n",
                    a->index, i, got, v);
            CHECK(!"errno's value did not move with the coroutine");
        }
        CHECK_EQ(wyn_self(), me);
        uintptr_t after = current_thread();
        if (thread_token() != after) {
            fprintf(stderr, "stale thread-local: token %#lx on thread %#lx\n",
                    (unsigned long)thread_token(), (unsigned long)after);
            CHECK(!"stale thread-local");
        }
        moved += after != before;
        tl_moved += tl_address() != tl_before;
    }
    atomic_fetch_add(&migrations, moved);
    atomic_fetch_add(&tl_moves, tl_moved);
    atomic_fetch_add(&resumes, a->iters);
}

static void body(void *arg)
{
    (void)arg;
    enum { N = 16 };
    long iters = scaled(5000, 400);
    wyn_co *h[N];
    for (int i = 0; i < N; i++) {
        struct wanderer_arg a = {i, iters};
        CHECK_EQ(wyn_spawn_ex(wanderer, NULL,
                              &(wyn_spawn_opts){.arg_copy = &a, .arg_size = sizeof a, .join = &h[i]}),
                 0);
    }
    /* main itself also checks errno across its joins */
    for (int i = 0; i < N; i++) {
        set_errno(4242 + i);
        CHECK_EQ(wyn_join(h[i], WYN_FOREVER), 0);
        CHECK_EQ(get_errno(), 4242 + i);
    }
    long m = atomic_load(&migrations), r = atomic_load(&resumes);
    printf("%ld of %ld switches resumed on another thread (%ld thread-local address changes)\n", m,
           r, (long)atomic_load(&tl_moves));
    if (test_workers() >= 2) {
        if (m == 0)
            CHECK(!"never migrated with WYN_DEBUG_MIGRATE=1 at >= 2 workers");
        CHECK(atomic_load(&tl_moves) > 0);
    }
}

int main(void)
{
    setenv("WYN_DEBUG_MIGRATE", "1", 1);
    test_run(body, NULL);
    printf("ok\n");
    return 0;
}
