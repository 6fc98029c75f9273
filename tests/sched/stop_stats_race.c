/* stop_stats_race.c — wyn_stop and wyn_stats_get against concurrent spawns.
 *
 * 1. Plain threads keep spawning while wyn_stop waits with a short deadline.
 *    API.md: spawns made meanwhile succeed and are waited for; so a spawn may
 *    fail with -ESRCH only once wyn_stop has returned 0 (the runtime is gone).
 *    A thread that gets -ESRCH and then succeeds in the same runtime saw the
 *    runtime refuse a spawn while it kept running (wyn_stop's final check
 *    used to close the door briefly, then open it again).
 * 2. While coroutines spawn short-lived ones on every worker, a plain thread
 *    polls wyn_stats_get: finished and alive never exceed spawned (summing
 *    the counters worker by worker in one pass could count a coroutine as
 *    finished but not spawned, and alive then wrapped around).
 * The worker count comes from $WYN_WORKERS (ctest: 1, 2, 4, 8). */
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

static void leaf(void *arg) { (void)arg; }

/* ---- 1: spawns while wyn_stop decides ---- */
static atomic_bool spammers_stop;
static atomic_long refused_then_accepted;

static void *spammer(void *arg)
{
    (void)arg;
    bool refused = false;
    while (!atomic_load(&spammers_stop)) {
        for (volatile int k = 0; k < 2000; k++)
            ;
        int rc = wyn_spawn(leaf, NULL);
        if (rc == -ESRCH) {
            refused = true;
        } else {
            CHECK_EQ(rc, 0);
            if (refused)
                atomic_fetch_add(&refused_then_accepted, 1);
            refused = false;
        }
    }
    return NULL;
}

static void stop_while_spawning(void)
{
    long rounds = scaled(300, 20);
    for (long r = 0; r < rounds; r++) {
        CHECK_EQ(wyn_start(NULL), 0);
        atomic_store(&spammers_stop, false);
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            CHECK_EQ(pthread_create(&t[i], NULL, spammer, NULL), 0);
        int rc = wyn_stop(wyn_deadline(5 * 1000 * 1000));
        CHECK(rc == 0 || rc == -ETIMEDOUT);
        atomic_store(&spammers_stop, true);
        for (int i = 0; i < 2; i++)
            CHECK_EQ(pthread_join(t[i], NULL), 0);
        if (rc == -ETIMEDOUT)
            CHECK_EQ(wyn_stop(WYN_FOREVER), 0);
        /* After a stop, nothing is accepted. */
        CHECK_EQ(wyn_spawn(leaf, NULL), -ESRCH);
    }
    CHECK_EQ(atomic_load(&refused_then_accepted), 0);
}

/* ---- 2: stats while coroutines come and go on every worker ---- */
static atomic_bool spawners_stop;

static void spawner(void *arg)
{
    (void)arg;
    while (!atomic_load(&spawners_stop)) {
        for (int i = 0; i < 64; i++)
            CHECK_EQ(wyn_spawn(leaf, NULL), 0);
        wyn_yield();
    }
}

static void stats_while_spawning(void)
{
    CHECK_EQ(wyn_start(NULL), 0);
    atomic_store(&spawners_stop, false);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(wyn_spawn(spawner, NULL), 0);
    int64_t end = wyn_deadline((int64_t)scaled(1000, 100) * 1000 * 1000);
    long samples = 0;
    while (wyn_now() < end) {
        wyn_stats s;
        wyn_stats_get(&s);
        samples++;
        if (s.finished > s.spawned || s.alive > s.spawned) {
            fprintf(stderr, "inconsistent stats: spawned %llu finished %llu alive %llu\n",
                    (unsigned long long)s.spawned, (unsigned long long)s.finished,
                    (unsigned long long)s.alive);
            abort();
        }
    }
    atomic_store(&spawners_stop, true);
    CHECK_EQ(wyn_stop(WYN_FOREVER), 0);
    wyn_stats s;
    wyn_stats_get(&s);
    CHECK_EQ(s.alive, 0);
    CHECK_EQ(s.spawned, s.finished + s.abandoned);
    CHECK(samples > 0);
}

int main(void)
{
    RUN(stop_while_spawning);
    RUN(stats_while_spawning);
    return 0;
}
