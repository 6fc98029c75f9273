/* test.h — the little every test program shares: checks that stay on in every
 * build, the stress-scale knob, and a way to run a test body as wyn's main.
 *
 * Each test is its own program (ctest gives it a timeout and the worker count
 * in $WYN_WORKERS). A failed CHECK prints file:line and the expression and
 * aborts, so ctest reports the failure and a core dump shows where. */
#ifndef WYN_TEST_H
#define WYN_TEST_H

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wyn.h"

#define CHECK(expr)                                                              \
    do {                                                                         \
        if (!(expr)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
            abort();                                                             \
        }                                                                        \
    } while (0)

/* CHECK_EQ for integers: prints both values. */
#define CHECK_EQ(a, b)                                                           \
    do {                                                                         \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);          \
        if (check_a_ != check_b_) {                                              \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n",  \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);             \
            abort();                                                             \
        }                                                                        \
    } while (0)

/* Stress tests multiply their iteration counts by this: $WYN_TEST_SCALE (a
 * float, default 1). The sanitizer passes in CI run with a smaller scale. */
static inline double test_scale(void)
{
    const char *s = getenv("WYN_TEST_SCALE");
    double v = s ? atof(s) : 1.0;
    return v > 0 ? v : 1.0;
}

/* n scaled, at least `min`. */
static inline long scaled(long n, long min)
{
    long v = (long)((double)n * test_scale());
    return v < min ? min : v;
}

/* Workers the test runs with ($WYN_WORKERS, as ctest sets it), 0 = default. */
static inline unsigned test_workers(void)
{
    const char *s = getenv("WYN_WORKERS");
    return s ? (unsigned)atoi(s) : 0;
}

/* Run fn as wyn's main coroutine and check the runtime shut down cleanly. */
static inline void test_run(void (*fn)(void *), void *arg)
{
    int rc = wyn_run(fn, arg, NULL);
    if (rc != 0) {
        fprintf(stderr, "wyn_run failed: %s\n", wyn_strerror(rc));
        abort();
    }
}

/* Run body() in a forked child with its stderr captured into out (cap bytes,
 * NUL-terminated); return the child's wait status. */
static inline int test_run_child(void (*body)(void), char *out, size_t cap)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        body();
        fprintf(stderr, "child body returned\n");
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    while (len < cap - 1 && (r = read(fds[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = 0;
    close(fds[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    return status;
}

/* Death test: pass only if body() (run in a child) died of SIGABRT and its
 * stderr contains `needle`. The child's output is echoed so a failure shows
 * what it printed. */
static inline void test_expect_death(void (*body)(void), const char *needle)
{
    static char out[65536];
    int status = test_run_child(body, out, sizeof out);
    fprintf(stderr, "--- child stderr ---\n%s--- end ---\n", out);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(out, needle) != NULL);
}

/* ---- helpers shared by the tests ---------------------------------------- */
#include <stdatomic.h>

#define US (1000LL)
#define MS (1000 * US)
#define SEC (1000 * MS)

/* A deadline that only a hang reaches (a test may define its own length). */
#ifndef WYN_TEST_WATCHDOG_SEC
#define WYN_TEST_WATCHDOG_SEC 10
#endif
static inline int64_t watchdog(void) { return wyn_deadline(WYN_TEST_WATCHDOG_SEC * SEC); }

/* go fn(arg), keeping a join handle. */
static inline wyn_co *go_join(void (*fn)(void *), void *arg)
{
    wyn_co *h = NULL;
    wyn_spawn_opts o = {0};
    o.join = &h;
    CHECK_EQ(wyn_spawn_ex(fn, arg, &o), 0);
    CHECK(h != NULL);
    return h;
}

static inline void join_ok(wyn_co *h) { CHECK_EQ(wyn_join(h, watchdog()), 0); }

/* Yield until *flag reaches want (cooperative: a plain spin would keep the
 * worker, and at one worker nobody else would ever run). */
static inline void await_flag(atomic_int *flag, int want)
{
    int64_t end = watchdog();
    while (atomic_load(flag) < want) {
        CHECK(wyn_now() < end);
        wyn_yield();
    }
}

/* Tracked spawns: test_go is wyn_spawn, and test_wait_all waits until every
 * coroutine test_go started has returned. Tests call it before main returns,
 * since returning from main abandons unfinished coroutines (as in Go), and a
 * helper that drops a channel reference as its last act would leak it. */
static wyn_wg test_tracked;
struct test_go_arg {
    void (*fn)(void *);
    void *arg;
};
static inline void test_go_entry(void *p)
{
    struct test_go_arg *a = p;
    a->fn(a->arg);
    wyn_wg_done(&test_tracked);
}
static inline int test_go(void (*fn)(void *), void *arg)
{
    struct test_go_arg a = {fn, arg};
    wyn_wg_add(&test_tracked, 1);
    int rc = wyn_spawn_ex(test_go_entry, NULL,
                          &(wyn_spawn_opts){.arg_copy = &a, .arg_size = sizeof a});
    if (rc != 0)
        wyn_wg_done(&test_tracked);
    return rc;
}
static inline void test_wait_all(void) { CHECK_EQ(wyn_wg_wait(&test_tracked, watchdog()), 0); }

/* Run one named test case of a program, saying which on stderr. */
#define RUN(t)                                 \
    do {                                       \
        fprintf(stderr, "== %s\n", #t);        \
        t();                                   \
    } while (0)

/* A small deterministic generator (LCG) for test choices. */
static inline uint64_t rng_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

#endif
