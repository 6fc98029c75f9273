/* overflow_death: a coroutine that overflows its stack must die with wyn's
 * report, and a crash that is not an overflow must not be reported as one.
 *
 * Hunts: a missing or misplaced guard page (the recursion silently scribbles
 * over a neighbouring stack or record and the child does not die with the
 * report), an overflow handler that cannot run because it has no alternate
 * signal stack (the child dies of a plain SIGSEGV without the message), the
 * mprotect fallback guard ($WYN_GUARD=mprotect) not being classified as an
 * overflow (it reports SEGV_ACCERR, not SEGV_MAPERR), and the reverse
 * mistake: a NULL dereference in a coroutine reported as an overflow or turned
 * into SIGABRT instead of being handed back to the default SIGSEGV action.
 * Each case runs in a forked child; the parent checks how it died and what it
 * printed. */
#include "test.h"

#include <sys/resource.h>

/* The children crash on purpose: no core files. */
static void no_core(void)
{
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
}

static volatile long depth_limit = 1L << 40;   /* never reached: defeats "infinite recursion" */

/* 1 KiB per frame, touched at both ends so no frame skips the guard, and a
 * use of the frame after the call so it is not a tail call. */
__attribute__((noinline)) static long recurse(long n)
{
    volatile char buf[1024];
    buf[0] = (char)n;
    buf[sizeof buf - 1] = (char)n;
    if (n >= depth_limit)
        return buf[0];
    return recurse(n + 1) + buf[n % (long)sizeof buf];
}

static void overflow_co(void *arg)
{
    (void)arg;
    printf("%ld\n", recurse(0));
}

static void overflow_main(void *arg)
{
    (void)arg;
    wyn_co *h;
    CHECK_EQ(wyn_spawn_ex(overflow_co, NULL, &(wyn_spawn_opts){.stack_size = 65536, .join = &h}), 0);
    wyn_join(h, WYN_FOREVER);
}

static void overflow_body(void)
{
    no_core();
    wyn_run(overflow_main, NULL, &(wyn_config){.workers = 2});
}

static void overflow_body_mprotect(void)
{
    no_core();
    setenv("WYN_GUARD", "mprotect", 1);
    wyn_run(overflow_main, NULL, &(wyn_config){.workers = 2});
}

static void null_co(void *arg)
{
    (void)arg;
    /* A member of a NULL struct pointer (address 16, in the unmapped first
     * page; not literally NULL so UBSan's null check does not intercept it). */
    volatile int *volatile p = (volatile int *)(uintptr_t)16;
    *p = 1;
}

static void null_main(void *arg)
{
    (void)arg;
    wyn_co *h;
    CHECK_EQ(wyn_spawn_ex(null_co, NULL, &(wyn_spawn_opts){.join = &h}), 0);
    wyn_join(h, WYN_FOREVER);
}

static void null_body(void)
{
    no_core();
    wyn_run(null_main, NULL, &(wyn_config){.workers = 2});
}

int main(void)
{
    /* 1: an overflow of a 64 KiB stack (MADV_GUARD_INSTALL guard where the
     * kernel has it). */
    test_expect_death(overflow_body, "overflowed its 65536-byte stack");
    test_expect_death(overflow_body, "wyn: fatal: coroutine #");
    /* 2: the same with the mprotect fallback guard. */
    test_expect_death(overflow_body_mprotect, "overflowed its 65536-byte stack");
    test_expect_death(overflow_body_mprotect, "wyn: fatal: coroutine #");

    /* 3: a NULL dereference is not an overflow: the default action kills the
     * child with SIGSEGV (under ASan or TSan, the sanitizer's own SEGV report
     * ends it instead), never with wyn's overflow report or SIGABRT. */
    static char out[65536];
    int status = test_run_child(null_body, out, sizeof out);
    fprintf(stderr, "--- NULL-dereference child stderr ---\n%s--- end ---\n", out);
    CHECK(strstr(out, "overflowed") == NULL);
    if (strstr(out, "Sanitizer: SEGV")) {
        /* ASan or TSan got the fault from wyn's handler and reported it. */
        CHECK(!(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT));
    } else {
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)) {
            fprintf(stderr, "NULL-dereference child: status %#x (signal %d), expected SIGSEGV\n",
                    status, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
            CHECK(!"a NULL dereference did not die of SIGSEGV");
        }
    }
    printf("ok\n");
    return 0;
}
