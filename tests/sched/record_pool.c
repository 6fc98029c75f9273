/* record_pool.c — coroutine records recycled through the magazine pools:
 * spawned and freed by workers and by plain threads at once, in every size
 * class, with more records alive than one chunk holds, so caches refill
 * from the depot and map chunks while other threads do the same.
 *
 * Catches: a record handed out twice (two live coroutines sharing one: the
 * argument copy of one is overwritten, or a slot runs twice), a record lost
 * (stats do not balance), and a magazine put in the wrong list (the depot
 * runs dry and the runtime aborts). */
#include <pthread.h>
#include <stdatomic.h>

#include "test.h"

#define THREADS 3
#define SIZES   4

static const size_t arg_sizes[SIZES] = {0, 48, 200, 1000};

typedef struct {
    uint64_t tag;        /* who: slot number, repeated over the argument */
    atomic_uchar *seen;  /* seen[slot] counts runs */
} rec_arg;

static void check_copy(const unsigned char *buf, size_t size, uint64_t tag)
{
    for (size_t i = 0; i < size; i++)
        CHECK_EQ(buf[i], (unsigned char)(tag * 31 + i));
}

typedef struct {
    rec_arg a;
    unsigned char bytes[1000];
} big_arg;

static void child(void *p)
{
    big_arg *b = p;
    /* The size is not passed: recover it from the tag's class. */
    size_t size = arg_sizes[b->a.tag % SIZES];
    if (size > sizeof(rec_arg))
        check_copy(b->bytes, size - sizeof(rec_arg), b->a.tag);
    if (b->a.tag % 7 == 0)
        wyn_yield();   /* stay alive a little longer: more records in use at once */
    if (size > sizeof(rec_arg))
        check_copy(b->bytes, size - sizeof(rec_arg), b->a.tag);
    CHECK_EQ(atomic_fetch_add(&b->a.seen[b->a.tag], 1), 0);
}

static void child_noarg(void *p)
{
    rec_arg *a = p;
    CHECK_EQ(atomic_fetch_add(&a->seen[a->tag], 1), 0);
}

static rec_arg *noarg_args;   /* one per slot of class 0 (no copy: passed by pointer) */

/* Spawn slots [from, to) with join handles, then join them all. */
static void spawn_range(atomic_uchar *seen, uint64_t from, uint64_t to)
{
    size_t n = (size_t)(to - from);
    wyn_co **h = calloc(n, sizeof *h);
    CHECK(h);
    for (uint64_t t = from; t < to; t++) {
        size_t size = arg_sizes[t % SIZES];
        wyn_spawn_opts o = { .join = &h[t - from] };
        int rc;
        if (size == 0) {
            noarg_args[t] = (rec_arg){ .tag = t, .seen = seen };
            rc = wyn_spawn_ex(child_noarg, &noarg_args[t], &o);
        } else {
            big_arg b = { .a = { .tag = t, .seen = seen } };
            for (size_t i = 0; i + sizeof(rec_arg) < size; i++)
                b.bytes[i] = (unsigned char)(t * 31 + i);
            o.arg_copy = &b;
            o.arg_size = size;
            rc = wyn_spawn_ex(child, NULL, &o);
        }
        CHECK_EQ(rc, 0);
    }
    for (size_t i = 0; i < n; i++)
        CHECK_EQ(wyn_join(h[i], WYN_FOREVER), 0);
    free(h);
}

typedef struct {
    atomic_uchar *seen;
    uint64_t from, to;
    wyn_wg *wg;          /* the coroutine parties' */
} range_job;

static void *thread_main(void *p)
{
    range_job *j = p;
    spawn_range(j->seen, j->from, j->to);
    return NULL;
}

static void co_main(void *p)
{
    range_job *j = p;
    spawn_range(j->seen, j->from, j->to);
    wyn_wg_done(j->wg);
}

int main(void)
{
    /* Per party and round: enough records that at least one cache maps
     * more than one chunk (a 1 MiB chunk holds about 4,000 small records). */
    const uint64_t per = (uint64_t)scaled(12000, 2000);
    const int rounds = 3;
    const uint64_t parties = 2 * THREADS;
    const uint64_t total = per * parties;
    atomic_uchar *seen = calloc(total, 1);
    noarg_args = calloc(total, sizeof *noarg_args);
    CHECK(seen && noarg_args);
    wyn_config cfg = { .workers = test_workers() };
    CHECK_EQ(wyn_start(&cfg), 0);
    for (int r = 0; r < rounds; r++) {
        memset((void *)seen, 0, total);
        range_job jobs[2 * THREADS];
        pthread_t th[THREADS];
        wyn_wg wg = { { 0 } };
        wyn_wg_add(&wg, THREADS);
        for (uint64_t i = 0; i < parties; i++)
            jobs[i] = (range_job){ seen, i * per, (i + 1) * per, &wg };
        /* Half the parties are plain threads (the off-worker cache), half
         * are coroutines (the workers' caches). */
        for (int i = 0; i < THREADS; i++)
            CHECK_EQ(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
        for (int i = 0; i < THREADS; i++)
            CHECK_EQ(wyn_spawn(co_main, &jobs[THREADS + i]), 0);
        for (int i = 0; i < THREADS; i++)
            CHECK_EQ(pthread_join(th[i], NULL), 0);
        CHECK_EQ(wyn_wg_wait(&wg, WYN_FOREVER), 0);
        for (uint64_t t = 0; t < total; t++)
            CHECK_EQ(seen[t], 1);
    }
    CHECK_EQ(wyn_stop(WYN_FOREVER), 0);
    wyn_stats st;
    wyn_stats_get(&st);
    CHECK_EQ(st.abandoned, 0);
    CHECK_EQ(st.alive, 0);
    CHECK_EQ(st.spawned, st.finished);
    CHECK_EQ(st.spawned, (uint64_t)rounds * (total + THREADS));
    free((void *)seen);
    free(noarg_args);
    return 0;
}
