/* wyn_bench.c — the canonical workloads of /work/shared/BENCH.md for wyn; the Go twin
 * is bench/go/main.go and implements the same algorithms with the same channel
 * capacities, so the ratio wyn/Go compares runtimes, not programs.
 *
 *     wyn-bench -workload NAME|all -workers W -n N -runs R [-quick]
 *
 * prints, per workload, one line
 *
 *     workload=<name> workers=<W> n=<N> ns_per_op=<float> total_ms=<float> [key=value ...]
 *
 * A figure is the median of R runs (default 5) after a warm-up (at least one run and
 * 200 ms), in this process.
 * One wyn_run(.workers = W) holds the warm-up and the timed runs of a figure (as Go's
 * twin runs warm); each workload times itself, so runtime start and stop are not
 * counted. Every workload checks its
 * own result and the program exits 1 when one is wrong (2 for bad flags). Extra keys
 * carry the Go twin's names. With $WYN_BENCH_STATS set, the last run's wyn_stats go to
 * stderr after each line. switch_floor (C only) is a raw jump_fcontext round trip
 * between the main thread and one context on a malloc'd 64 KiB stack: the floor that
 * `yield` is read against. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "wyn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Boost.Context's C ABI (libboost_context.a, linked through wyn_static). */
typedef void *fcontext_t;
typedef struct { fcontext_t fctx; void *data; } transfer_t;
transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

/* ---- helpers --------------------------------------------------------------- */
static void fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("wyn-bench: FAIL: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _Exit(1); /* may be called on a worker thread: no atexit handlers, no unwinding */
}

static void check(int rc, const char *what)
{
    if (rc < 0)
        fail("%s: %s (%d)", what, wyn_strerror(rc), rc);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static wyn_chan *chan_make(size_t elem, size_t cap)
{
    wyn_chan *c = wyn_chan_make(elem, cap);
    if (!c)
        fail("wyn_chan_make(%zu, %zu): %s", elem, cap, strerror(errno));
    return c;
}

static void send_long(wyn_chan *c, long v, const char *what)
{
    check(wyn_chan_send(c, &v, WYN_FOREVER), what);
}

static long recv_long(wyn_chan *c, const char *what)
{
    long v = 0;
    check(wyn_chan_recv(c, &v, WYN_FOREVER), what);
    return v;
}

/* spawn fn with a private copy of *arg (no malloc), detached */
static void spawn_copy(void (*fn)(void *), const void *arg, size_t size, const char *what)
{
    wyn_spawn_opts o = { .arg_copy = arg, .arg_size = size };
    check(wyn_spawn_ex(fn, NULL, &o), what);
}

/* One timed run: what a workload's main_fn gets and fills in. */
typedef struct bench_run {
    long     n;
    unsigned w;
    int64_t  elapsed_ns;
    char     extra[160]; /* " key=value ..." */
} bench_run;

/* ---- spawn: N coroutines each doing one atomic add; wait with a WaitGroup ---- */
typedef struct spawn_shared {
    atomic_long cnt;
    wyn_wg      wg;
} spawn_shared;

static void spawn_child(void *p)
{
    spawn_shared *s = p;
    atomic_fetch_add_explicit(&s->cnt, 1, memory_order_relaxed); /* only counted; wg orders */
    wyn_wg_done(&s->wg);
}

static void spawn_main(void *p)
{
    bench_run *r = p;
    spawn_shared s = { .wg = { { 0 } } };
    atomic_init(&s.cnt, 0);
    int64_t t0 = now_ns();
    wyn_wg_add(&s.wg, r->n);
    for (long i = 0; i < r->n; i++)
        check(wyn_spawn(spawn_child, &s), "spawn: wyn_spawn");
    check(wyn_wg_wait(&s.wg, WYN_FOREVER), "spawn: wyn_wg_wait");
    r->elapsed_ns = now_ns() - t0;
    long c = atomic_load_explicit(&s.cnt, memory_order_relaxed);
    if (c != r->n)
        fail("spawn: counter %ld, want %ld", c, r->n);
}

/* ---- skynet: 10-ary tree, one result channel (cap 10) per parent ---- */
typedef struct sky_arg {
    wyn_chan *out;
    long      num, size;
} sky_arg;

static void sky_node(void *p)
{
    sky_arg a = *(const sky_arg *)p;
    if (a.size == 1) {
        send_long(a.out, a.num, "skynet: send leaf");
        return;
    }
    wyn_chan *rc = chan_make(sizeof(long), 10);
    long sub = a.size / 10, sum = 0;
    for (long i = 0; i < 10; i++) {
        sky_arg c = { rc, a.num + i * sub, sub };
        spawn_copy(sky_node, &c, sizeof c, "skynet: wyn_spawn_ex");
    }
    for (int i = 0; i < 10; i++)
        sum += recv_long(rc, "skynet: recv");
    wyn_chan_free(rc);
    send_long(a.out, sum, "skynet: send sum");
}

static long skynet_coroutines(long n)
{
    long t = 0;
    for (long s = n; s >= 1; s /= 10)
        t += s;
    return t;
}

static void skynet_main(void *p)
{
    bench_run *r = p;
    wyn_chan *c = chan_make(sizeof(long), 1);
    int64_t t0 = now_ns();
    sky_arg a = { c, 0, r->n };
    spawn_copy(sky_node, &a, sizeof a, "skynet: wyn_spawn_ex root");
    long sum = recv_long(c, "skynet: recv root");
    r->elapsed_ns = now_ns() - t0;
    wyn_chan_free(c);
    long want = r->n * (r->n - 1) / 2;
    if (sum != want)
        fail("skynet: sum %ld, want %ld", sum, want);
    snprintf(r->extra, sizeof r->extra, " coroutines=%ld", skynet_coroutines(r->n));
}

/* ---- pingpong: two coroutines, two unbuffered channels, N round trips ---- */
typedef struct pp_shared {
    wyn_chan   *a2b, *b2a;
    long        n;
    atomic_long bad;
    wyn_wg      wg;
} pp_shared;

static void pp_a(void *p)
{
    pp_shared *s = p;
    for (long i = 0; i < s->n; i++) {
        send_long(s->a2b, i, "pingpong: A send");
        if (recv_long(s->b2a, "pingpong: A recv") != i + 1)
            atomic_fetch_add_explicit(&s->bad, 1, memory_order_relaxed);
    }
    wyn_wg_done(&s->wg);
}

static void pp_b(void *p)
{
    pp_shared *s = p;
    for (long i = 0; i < s->n; i++) {
        long v = recv_long(s->a2b, "pingpong: B recv");
        if (v != i)
            atomic_fetch_add_explicit(&s->bad, 1, memory_order_relaxed);
        send_long(s->b2a, v + 1, "pingpong: B send");
    }
    wyn_wg_done(&s->wg);
}

static void pingpong_main(void *p)
{
    bench_run *r = p;
    pp_shared s = { .a2b = chan_make(sizeof(long), 0), .b2a = chan_make(sizeof(long), 0),
                    .n = r->n, .wg = { { 0 } } };
    atomic_init(&s.bad, 0);
    wyn_wg_add(&s.wg, 2);
    int64_t t0 = now_ns();
    check(wyn_spawn(pp_a, &s), "pingpong: spawn A");
    check(wyn_spawn(pp_b, &s), "pingpong: spawn B");
    check(wyn_wg_wait(&s.wg, WYN_FOREVER), "pingpong: wyn_wg_wait");
    r->elapsed_ns = now_ns() - t0;
    wyn_chan_free(s.a2b);
    wyn_chan_free(s.b2a);
    long bad = atomic_load_explicit(&s.bad, memory_order_relaxed);
    if (bad)
        fail("pingpong: %ld values out of order", bad);
}

/* ---- yield: 2W coroutines each yielding N times, checking that yield hands over ----
 * Each coroutine publishes in its own cache line how many yields it has started
 * (relaxed store: it is the only writer; the readers only need to see it change).
 * Every `sample`-th yield it snapshots the others' counts before yielding and compares
 * after. At 1 worker every other coroutine that still has yields to do must have
 * started another one meanwhile (API.md: a yield runs again only after every coroutine
 * ready on its worker has run): any miss fails. At more workers at least one should
 * have; since another worker may legitimately take the yielder back first, only a
 * majority of misses (a no-op yield) fails. yield_miss_pct reports the share.
 * `sample` is a power of two, tested with a mask: a division in the loop would
 * cost about as much as the yield it measures (both twins do the same). */
typedef struct yield_slot {
    _Alignas(64) atomic_long v;
} yield_slot;

typedef struct yield_shared {
    yield_slot *cnt;
    int         k;
    long        n, sample;
    unsigned    w;
    atomic_long checks, misses;
    wyn_wg      wg;
} yield_shared;

typedef struct yield_arg {
    yield_shared *s;
    int           me;
} yield_arg;

static void yield_co(void *p)
{
    yield_arg a = *(const yield_arg *)p;
    yield_shared *s = a.s;
    long *snap = malloc(sizeof(long) * (size_t)s->k);
    if (!snap)
        fail("yield: malloc");
    long checks = 0, misses = 0;
    for (long it = 1; it <= s->n; it++) {
        int sampled = (it & (s->sample - 1)) == 0;
        if (sampled)
            for (int j = 0; j < s->k; j++)
                snap[j] = atomic_load_explicit(&s->cnt[j].v, memory_order_relaxed);
        atomic_store_explicit(&s->cnt[a.me].v, it, memory_order_relaxed);
        wyn_yield();
        if (!sampled)
            continue;
        int eligible = 0, advanced = 0;
        for (int j = 0; j < s->k; j++) {
            if (j == a.me || snap[j] >= s->n)
                continue; /* a finished coroutine starts no further yield */
            eligible++;
            if (atomic_load_explicit(&s->cnt[j].v, memory_order_relaxed) != snap[j])
                advanced++;
        }
        if (!eligible)
            continue;
        checks++;
        if (s->w == 1 ? advanced != eligible : advanced == 0)
            misses++;
    }
    free(snap);
    atomic_fetch_add_explicit(&s->checks, checks, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->misses, misses, memory_order_relaxed);
    wyn_wg_done(&s->wg);
}

static void yield_main(void *p)
{
    bench_run *r = p;
    yield_shared s = { .k = 2 * (int)r->w, .n = r->n, .sample = r->w > 1 ? 256 : 16,
                       .w = r->w, .wg = { { 0 } } };
    atomic_init(&s.checks, 0);
    atomic_init(&s.misses, 0);
    s.cnt = aligned_alloc(64, sizeof(yield_slot) * (size_t)s.k);
    if (!s.cnt)
        fail("yield: aligned_alloc");
    for (int j = 0; j < s.k; j++)
        atomic_init(&s.cnt[j].v, 0);
    wyn_wg_add(&s.wg, s.k);
    int64_t t0 = now_ns();
    for (int j = 0; j < s.k; j++) {
        yield_arg a = { &s, j };
        spawn_copy(yield_co, &a, sizeof a, "yield: wyn_spawn_ex");
    }
    check(wyn_wg_wait(&s.wg, WYN_FOREVER), "yield: wyn_wg_wait");
    r->elapsed_ns = now_ns() - t0;
    for (int j = 0; j < s.k; j++) {
        long v = atomic_load_explicit(&s.cnt[j].v, memory_order_relaxed);
        if (v != s.n)
            fail("yield: coroutine %d did %ld yields, want %ld", j, v, s.n);
    }
    free(s.cnt);
    long checks = atomic_load_explicit(&s.checks, memory_order_relaxed);
    long misses = atomic_load_explicit(&s.misses, memory_order_relaxed);
    if (checks == 0 && s.n >= 2 * s.sample)
        fail("yield: no yield could be checked");
    if (s.w == 1 && misses)
        fail("yield: at 1 worker, %ld of %ld sampled yields resumed before every other "
             "coroutine ran", misses, checks);
    if (misses * 2 > checks)
        fail("yield: %ld of %ld sampled yields resumed before any other coroutine ran",
             misses, checks);
    snprintf(r->extra, sizeof r->extra, " yield_miss_pct=%.2f",
             checks ? 100.0 * (double)misses / (double)checks : 0.0);
}

/* ---- chan_spsc: one producer, one consumer, channel capacity 1024 ---- */
typedef struct spsc_shared {
    wyn_chan *ch, *done;
    long      n;
} spsc_shared;

static void spsc_producer(void *p)
{
    spsc_shared *s = p;
    for (long i = 1; i <= s->n; i++)
        check(wyn_chan_send(s->ch, &i, WYN_FOREVER), "chan_spsc: send");
}

static void spsc_consumer(void *p)
{
    spsc_shared *s = p;
    long sum = 0, v;
    for (long i = 0; i < s->n; i++) {
        check(wyn_chan_recv(s->ch, &v, WYN_FOREVER), "chan_spsc: recv");
        sum += v;
    }
    send_long(s->done, sum, "chan_spsc: send done");
}

static void chan_spsc_main(void *p)
{
    bench_run *r = p;
    spsc_shared s = { chan_make(sizeof(long), 1024), chan_make(sizeof(long), 1), r->n };
    int64_t t0 = now_ns();
    check(wyn_spawn(spsc_producer, &s), "chan_spsc: spawn producer");
    check(wyn_spawn(spsc_consumer, &s), "chan_spsc: spawn consumer");
    long sum = recv_long(s.done, "chan_spsc: recv done");
    r->elapsed_ns = now_ns() - t0;
    wyn_chan_free(s.ch);
    wyn_chan_free(s.done);
    long want = r->n * (r->n + 1) / 2;
    if (sum != want)
        fail("chan_spsc: sum %ld, want %ld", sum, want);
}

/* ---- chan_mpmc: 4 producers, 4 consumers, one channel capacity 1024, N in total ---- */
enum { MPMC_PRODUCERS = 4, MPMC_CONSUMERS = 4 };

typedef struct mpmc_part {
    long sum, count;
} mpmc_part;

typedef struct mpmc_shared {
    wyn_chan *ch, *parts;
    long      n;
    wyn_wg    pwg;
} mpmc_shared;

typedef struct mpmc_arg {
    mpmc_shared *s;
    long         first;
} mpmc_arg;

static void mpmc_producer(void *p)
{
    mpmc_arg a = *(const mpmc_arg *)p;
    for (long i = a.first; i < a.s->n; i += MPMC_PRODUCERS) {
        long v = i + 1;
        check(wyn_chan_send(a.s->ch, &v, WYN_FOREVER), "chan_mpmc: send");
    }
    wyn_wg_done(&a.s->pwg);
}

static void mpmc_consumer(void *p)
{
    mpmc_shared *s = p;
    mpmc_part pt = { 0, 0 };
    long v;
    int rc;
    while ((rc = wyn_chan_recv(s->ch, &v, WYN_FOREVER)) == 0) {
        pt.sum += v;
        pt.count++;
    }
    if (rc != -EPIPE)
        check(rc, "chan_mpmc: recv");
    check(wyn_chan_send(s->parts, &pt, WYN_FOREVER), "chan_mpmc: send part");
}

static void chan_mpmc_main(void *p)
{
    bench_run *r = p;
    mpmc_shared s = { chan_make(sizeof(long), 1024), chan_make(sizeof(mpmc_part), MPMC_CONSUMERS),
                      r->n, { { 0 } } };
    wyn_wg_add(&s.pwg, MPMC_PRODUCERS);
    int64_t t0 = now_ns();
    for (long i = 0; i < MPMC_PRODUCERS; i++) {
        mpmc_arg a = { &s, i };
        spawn_copy(mpmc_producer, &a, sizeof a, "chan_mpmc: spawn producer");
    }
    for (int i = 0; i < MPMC_CONSUMERS; i++)
        check(wyn_spawn(mpmc_consumer, &s), "chan_mpmc: spawn consumer");
    check(wyn_wg_wait(&s.pwg, WYN_FOREVER), "chan_mpmc: wyn_wg_wait");
    check(wyn_chan_close(s.ch), "chan_mpmc: close");
    long sum = 0, count = 0;
    for (int i = 0; i < MPMC_CONSUMERS; i++) {
        mpmc_part pt;
        check(wyn_chan_recv(s.parts, &pt, WYN_FOREVER), "chan_mpmc: recv part");
        sum += pt.sum;
        count += pt.count;
    }
    r->elapsed_ns = now_ns() - t0;
    wyn_chan_free(s.ch);
    wyn_chan_free(s.parts);
    long want = r->n * (r->n + 1) / 2;
    if (sum != want || count != r->n)
        fail("chan_mpmc: sum %ld count %ld, want %ld and %ld", sum, count, want, r->n);
}

/* ---- ring: 503 coroutines, unbuffered inboxes, a token passed N hops ---- */
enum { RING_SIZE = 503 };

typedef struct ring_shared {
    wyn_chan *inbox[RING_SIZE];
    wyn_chan *done;
    wyn_wg    wg;
} ring_shared;

typedef struct ring_arg {
    ring_shared *s;
    long         id;
} ring_arg;

static void ring_node(void *p)
{
    ring_arg a = *(const ring_arg *)p;
    wyn_chan *in = a.s->inbox[a.id], *out = a.s->inbox[(a.id + 1) % RING_SIZE];
    long t;
    int rc;
    while ((rc = wyn_chan_recv(in, &t, WYN_FOREVER)) == 0) {
        if (t == 0) {
            send_long(a.s->done, a.id, "ring: send done");
            break;
        }
        t--;
        check(wyn_chan_send(out, &t, WYN_FOREVER), "ring: send");
    }
    if (rc != 0 && rc != -EPIPE)
        check(rc, "ring: recv");
    wyn_wg_done(&a.s->wg);
}

static void ring_main(void *p)
{
    bench_run *r = p;
    ring_shared *s = malloc(sizeof *s);
    if (!s)
        fail("ring: malloc");
    memset(&s->wg, 0, sizeof s->wg);
    for (int i = 0; i < RING_SIZE; i++)
        s->inbox[i] = chan_make(sizeof(long), 0);
    s->done = chan_make(sizeof(long), 1);
    wyn_wg_add(&s->wg, RING_SIZE);
    for (long i = 0; i < RING_SIZE; i++) {
        ring_arg a = { s, i };
        spawn_copy(ring_node, &a, sizeof a, "ring: wyn_spawn_ex");
    }
    int64_t t0 = now_ns();
    send_long(s->inbox[0], r->n, "ring: send first");
    long last = recv_long(s->done, "ring: recv done");
    r->elapsed_ns = now_ns() - t0;
    for (int i = 0; i < RING_SIZE; i++) /* the token is gone: release the others */
        check(wyn_chan_close(s->inbox[i]), "ring: close");
    check(wyn_wg_wait(&s->wg, WYN_FOREVER), "ring: wyn_wg_wait");
    for (int i = 0; i < RING_SIZE; i++)
        wyn_chan_free(s->inbox[i]);
    wyn_chan_free(s->done);
    free(s);
    if (last != r->n % RING_SIZE)
        fail("ring: token stopped at %ld, want %ld", last, r->n % RING_SIZE);
    snprintf(r->extra, sizeof r->extra, " last=%ld", last);
}

/* ---- fib: fib(N); n >= 15 spawns fib(n-1) and computes fib(n-2) inline, then joins ---- */
enum { FIB_CUTOFF = 15 };

static long fib_serial(int n)
{
    return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2);
}

/* Each coroutine counts the spawns of its own subtree and hands the count to
 * its parent with its value, so no counter is shared between the workers (a
 * shared atomic would bounce its cache line at every spawn and measure that). */
typedef struct fib_arg {
    int   n;
    long *out;           /* in the parent's frame: the parent joins before it returns */
    long *out_spawns;
} fib_arg;

static long fib_par(int n, long *spawns);

static void fib_co(void *p)
{
    const fib_arg *a = p;
    long spawns = 0;
    *a->out = fib_par(a->n, &spawns); /* both published to the parent by wyn_join */
    *a->out_spawns = spawns;
}

static long fib_par(int n, long *spawns)
{
    if (n < FIB_CUTOFF)
        return fib_serial(n);
    long a = 0, a_spawns = 0;
    wyn_co *co = NULL;
    fib_arg fa = { n - 1, &a, &a_spawns };
    wyn_spawn_opts o = { .arg_copy = &fa, .arg_size = sizeof fa, .join = &co };
    check(wyn_spawn_ex(fib_co, NULL, &o), "fib: wyn_spawn_ex");
    long b = fib_par(n - 2, spawns);
    check(wyn_join(co, WYN_FOREVER), "fib: wyn_join");
    *spawns += 1 + a_spawns;
    return a + b;
}

/* The same tree with no coroutines: the leaves' cost alone, on one thread. fib's ratio
 * to Go includes the two compilers' code for fib_serial (gcc's is about 2x faster than
 * gc's here); total_ms - serial_ms at 1 worker is the runtime's share. */
static long fib_seq(int n)
{
    return n < FIB_CUTOFF ? fib_serial(n) : fib_seq(n - 1) + fib_seq(n - 2);
}

static double fib_serial_ms(int n)
{
    int64_t t0 = now_ns();
    volatile long v = fib_seq(n);
    (void)v;
    return (double)(now_ns() - t0) / 1e6;
}

static void fib_expect(int n, long *value, long *spawns)
{
    long a = 0, b = 1, s[128] = { 0 }; /* spawns(m) = 1 + spawns(m-1) + spawns(m-2), m >= cutoff */
    for (int i = 0; i < n; i++) {
        long t = a + b;
        a = b;
        b = t;
    }
    for (int m = FIB_CUTOFF; m <= n; m++)
        s[m] = 1 + s[m - 1] + s[m - 2];
    *value = a;
    *spawns = s[n];
}

static void fib_main(void *p)
{
    bench_run *r = p;
    long got_s = 0;
    int64_t t0 = now_ns();
    long v = fib_par((int)r->n, &got_s);
    r->elapsed_ns = now_ns() - t0;
    long want_v, want_s;
    fib_expect((int)r->n, &want_v, &want_s);
    if (v != want_v || got_s != want_s)
        fail("fib: value %ld spawns %ld, want %ld and %ld", v, got_s, want_v, want_s);
    snprintf(r->extra, sizeof r->extra, " spawns=%ld value=%ld", got_s, v);
}

/* ---- switch_floor: raw jump_fcontext round trips, no runtime ---- */
enum { FLOOR_STACK = 64 * 1024 };

static void floor_fn(transfer_t t)
{
    for (;;)
        t = jump_fcontext(t.fctx, t.data);
}

static void floor_main(void *p)
{
    bench_run *r = p;
    char *stack = malloc(FLOOR_STACK);
    if (!stack)
        fail("switch_floor: malloc");
    fcontext_t ctx = make_fcontext(stack + FLOOR_STACK, FLOOR_STACK, floor_fn);
    long echoed = 0;
    int64_t t0 = now_ns();
    for (long i = 0; i < r->n; i++) {
        transfer_t t = jump_fcontext(ctx, (void *)i);
        ctx = t.fctx;
        echoed += (long)t.data == i;
    }
    r->elapsed_ns = now_ns() - t0;
    free(stack); /* the context stays suspended in floor_fn forever: nothing to unwind */
    if (echoed != r->n)
        fail("switch_floor: %ld of %ld round trips echoed their value", echoed, r->n);
}

/* ---- driver ---------------------------------------------------------------- */
typedef struct workload {
    const char *name;
    long        def_n, quick_n;
    void (*main_fn)(void *);
    int         ops_kind; /* OPS_N, OPS_ONE, OPS_YIELD */
    int         raw;      /* run on this thread, without a runtime */
} workload;

enum { OPS_N, OPS_ONE, OPS_YIELD };

/* The order of `all`: the Go twin's order, then switch_floor. */
static const workload workloads[] = {
    { "spawn",        1000000,  10000,  spawn_main,     OPS_N,     0 },
    { "skynet",       1000000,  10000,  skynet_main,    OPS_ONE,   0 },
    { "pingpong",     1000000,  10000,  pingpong_main,  OPS_N,     0 },
    { "yield",        10000000, 100000, yield_main,     OPS_YIELD, 0 },
    { "chan_spsc",    10000000, 100000, chan_spsc_main, OPS_N,     0 },
    { "chan_mpmc",    10000000, 100000, chan_mpmc_main, OPS_N,     0 },
    { "ring",         10000000, 100000, ring_main,      OPS_N,     0 },
    { "fib",          35,       27,     fib_main,       OPS_ONE,   0 },
    { "switch_floor", 10000000, 100000, floor_main,     OPS_N,     1 },
};
enum { NWORKLOADS = sizeof workloads / sizeof workloads[0] };

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static const char *valid_n(const workload *wl, long n)
{
    static char msg[160];
    if (!strcmp(wl->name, "skynet")) {
        long m = n;
        while (m > 1 && m % 10 == 0)
            m /= 10;
        if (n < 1 || m != 1) {
            snprintf(msg, sizeof msg, "skynet: -n (leaves) must be a power of 10, got %ld", n);
            return msg;
        }
    } else if (!strcmp(wl->name, "fib")) {
        if (n < 1 || n > 60) {
            snprintf(msg, sizeof msg, "fib: -n is the argument of fib, 1..60, got %ld "
                     "(with -workload all, use -quick or no -n)", n);
            return msg;
        }
    } else if (n < 1) {
        snprintf(msg, sizeof msg, "%s: -n must be >= 1", wl->name);
        return msg;
    }
    return NULL;
}

/* The warm-up and the timed runs of one figure, inside one runtime: Go's twin
 * also measures a warm runtime (its g's and stacks are reused after the warm-up). */
typedef struct run_plan {
    const workload *wl;
    long            n;
    unsigned        w;
    int             runs;
    int64_t        *times;
    bench_run       last;
} run_plan;

static void run_one(const workload *wl, bench_run *br, long n, unsigned w)
{
    memset(br, 0, sizeof *br);
    br->n = n;
    br->w = w;
    br->elapsed_ns = -1;
    wl->main_fn(br);
    if (br->elapsed_ns < 0)
        fail("%s: the run did not complete", wl->name);
}

static void run_all(void *p)
{
    run_plan *plan = p;
    /* Warm-up: at least one run and at least 200 ms, so short workloads are not
     * timed on a CPU still ramping up (the Go twin does the same). */
    int64_t warm_start = now_ns();
    do
        run_one(plan->wl, &plan->last, plan->n, plan->w);
    while (now_ns() - warm_start < 200 * 1000 * 1000);
    for (int r = 0; r < plan->runs; r++) {
        run_one(plan->wl, &plan->last, plan->n, plan->w);
        plan->times[r] = plan->last.elapsed_ns;
    }
}

static void run_workload(const workload *wl, unsigned w, long n, int runs)
{
    int64_t *times = malloc(sizeof(int64_t) * (size_t)runs);
    if (!times)
        fail("malloc");
    run_plan plan = {wl, n, w, runs, times, {0}};
    if (wl->raw) {
        run_all(&plan);
    } else {
        wyn_config cfg = { .workers = w };
        int rc = wyn_run(run_all, &plan, &cfg);
        if (rc != 0)
            fail("%s: wyn_run: %s (%d)", wl->name, wyn_strerror(rc), rc);
    }
    bench_run br = plan.last;
    qsort(times, (size_t)runs, sizeof *times, cmp_i64);
    double med = runs % 2 ? (double)times[runs / 2]
                          : ((double)times[runs / 2 - 1] + (double)times[runs / 2]) / 2;
    double ops = wl->ops_kind == OPS_N ? (double)n
               : wl->ops_kind == OPS_YIELD ? 2.0 * w * (double)n : 1.0;
    char more[64] = "";
    if (wl->main_fn == fib_main) /* after the timed runs, so it cannot disturb them */
        snprintf(more, sizeof more, " serial_ms=%.3f", fib_serial_ms((int)n));
    printf("workload=%s workers=%u n=%ld ns_per_op=%.2f total_ms=%.3f%s%s\n", wl->name, w, n,
           med / ops, med / 1e6, br.extra, more);
    fflush(stdout);
    if (!wl->raw && getenv("WYN_BENCH_STATS")) { /* the last run's runtime figures */
        wyn_stats st;
        wyn_stats_get(&st);
        fprintf(stderr, "stats %s: workers=%u spawned=%llu finished=%llu alive=%llu abandoned=%llu "
                "switches=%llu steals=%llu parks=%llu stacks_pooled=%llu stacks_mapped=%llu\n",
                wl->name, st.workers, (unsigned long long)st.spawned,
                (unsigned long long)st.finished, (unsigned long long)st.alive,
                (unsigned long long)st.abandoned, (unsigned long long)st.switches,
                (unsigned long long)st.steals, (unsigned long long)st.parks,
                (unsigned long long)st.stacks_pooled, (unsigned long long)st.stacks_mapped);
    }
    free(times);
}

static void usage(void)
{
    fputs("usage: wyn-bench -workload NAME|all -workers W -n N -runs R [-quick]\n", stderr);
    exit(2);
}

static long parse_long(const char *s, long min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    const char *name = "all";
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long workers = cpus > 0 ? cpus : 1, n = 0, runs = 5;
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = NULL;
        if (f[0] != '-')
            usage();
        f += f[1] == '-' ? 2 : 1; /* -flag or --flag */
        const char *eq = strchr(f, '=');
        size_t len = eq ? (size_t)(eq - f) : strlen(f);
        if (len == 5 && !strncmp(f, "quick", 5)) {
            quick = 1;
            continue;
        }
        if (eq)
            v = eq + 1;
        else if (i + 1 < argc)
            v = argv[++i];
        else
            usage();
        if (len == 8 && !strncmp(f, "workload", 8))
            name = v;
        else if (len == 7 && !strncmp(f, "workers", 7))
            workers = parse_long(v, 1);
        else if (len == 1 && f[0] == 'n')
            n = parse_long(v, 0);
        else if (len == 4 && !strncmp(f, "runs", 4))
            runs = parse_long(v, 1);
        else
            usage();
    }
    if (workers > 4096 || runs > 100000)
        usage();
    int found = 0;
    for (int pass = 0; pass < 2; pass++) { /* check every N first, then run */
        for (int i = 0; i < NWORKLOADS; i++) {
            const workload *wl = &workloads[i];
            if (strcmp(name, "all") && strcmp(name, wl->name))
                continue;
            found = 1;
            long wn = n ? n : quick ? wl->quick_n : wl->def_n;
            const char *bad = valid_n(wl, wn);
            if (bad) {
                fprintf(stderr, "wyn-bench: %s\n", bad);
                return 2;
            }
            if (pass == 1)
                run_workload(wl, (unsigned)workers, wn, (int)runs);
        }
        if (!found) {
            fprintf(stderr, "wyn-bench: unknown workload \"%s\"\n", name);
            return 2;
        }
    }
    return 0;
}
