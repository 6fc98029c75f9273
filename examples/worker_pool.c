/* worker_pool — Go's "worker pools" example in wyn: a fixed pool of worker
 * coroutines takes jobs from one channel and sends results on another; the
 * main coroutine gathers every result and checks the total.
 *
 * The job: count the primes below a number, by trial division (real work,
 * so the pool spreads over the worker threads). */
#include <stdio.h>

#include "wyn.h"

enum { WORKERS = 8, JOBS = 2000 };

struct result {
    int job;
    int primes;
};

static struct {
    wyn_chan *jobs, *results;
    wyn_wg    done;
} pool;

static int count_primes(int below)
{
    int n = 0;
    for (int i = 2; i < below; i++) {
        int prime = 1;
        for (int d = 2; d * d <= i; d++)
            if (i % d == 0) {
                prime = 0;
                break;
            }
        n += prime;
    }
    return n;
}

static void worker(void *arg)
{
    (void)arg;
    int job;
    while (wyn_chan_recv(pool.jobs, &job, WYN_FOREVER) == 0) {
        struct result r = {job, count_primes(job)};
        wyn_chan_send(pool.results, &r, WYN_FOREVER);
    }
    wyn_wg_done(&pool.done);
}

/* Feeds the jobs, then closes the jobs channel: it runs beside the gathering
 * in main (sending every job first, with both channels bounded, would leave
 * main and the workers waiting on each other). */
static void feeder(void *arg)
{
    (void)arg;
    for (int j = 0; j < JOBS; j++) {
        int job = 1000 + j;
        wyn_chan_send(pool.jobs, &job, WYN_FOREVER);
    }
    wyn_chan_close(pool.jobs);
}

static void closer(void *arg)
{
    (void)arg;
    wyn_wg_wait(&pool.done, WYN_FOREVER);   /* every worker has finished */
    wyn_chan_close(pool.results);
}

static void main_co(void *arg)
{
    int *status = arg;
    pool.jobs = wyn_chan_make(sizeof(int), 100);
    pool.results = wyn_chan_make(sizeof(struct result), 100);
    for (int i = 0; i < WORKERS; i++) {
        wyn_wg_add(&pool.done, 1);
        wyn_spawn(worker, NULL);
    }
    wyn_spawn(closer, NULL);
    wyn_spawn(feeder, NULL);

    long total = 0, expect = 0;
    int got = 0;
    struct result r;
    while (wyn_chan_recv(pool.results, &r, WYN_FOREVER) == 0) {
        total += r.primes;
        got++;
    }
    for (int j = 0; j < JOBS; j++)
        expect += count_primes(1000 + j);
    wyn_stats st;
    wyn_stats_get(&st);
    printf("%d jobs on %d worker coroutines over %u threads: %d results, %ld primes counted "
           "(expected %ld), %llu steals\n",
           JOBS, WORKERS, st.workers, got, total, expect, (unsigned long long)st.steals);
    *status = got == JOBS && total == expect ? 0 : 1;
    wyn_chan_free(pool.jobs);
    wyn_chan_free(pool.results);
}

int main(void)
{
    int status = 1;
    if (wyn_run(main_co, &status, NULL) != 0)
        return 1;
    return status;
}
