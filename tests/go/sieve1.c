/* sieve1.c — port of Go's test/chan/sieve1.go.
 *
 * The classical inefficient concurrent prime sieve: a generator coroutine sends
 * 2, 3, 4, ... down an unbuffered channel, and each prime found adds a filter
 * coroutine to a daisy chain of unbuffered channels. Checks that the first 25
 * primes come out of the chain in order (2 .. 97), i.e. that unbuffered
 * channels hand values over in FIFO order through a long chain of coroutines.
 *
 * As in Go, the generator, the filters and the sieve never finish: returning
 * from the main coroutine abandons them. Their channels are freed after wyn_run
 * has returned (abandoned waiters are unlinked, so the channels are freeable). */
#include "test.h"

#include <stdatomic.h>

#define MAXCH 256
static wyn_chan *chans[MAXCH];
static atomic_int nchans;

static wyn_chan *mkchan(void)
{
    wyn_chan *c = wyn_chan_make(sizeof(int), 0);
    CHECK(c != NULL);
    int i = atomic_fetch_add(&nchans, 1);
    CHECK(i < MAXCH);
    chans[i] = c;
    return c;
}

/* Send the sequence 2, 3, 4, ... to channel 'ch'. */
static void generate(void *arg)
{
    wyn_chan *ch = arg;
    for (int i = 2;; i++)
        CHECK_EQ(wyn_chan_send(ch, &i, WYN_FOREVER), 0);
}

struct filter_args {
    wyn_chan *in, *out;
    int prime;
};

/* Copy the values from channel 'in' to channel 'out', removing those divisible
 * by 'prime'. */
static void filter(void *arg)
{
    struct filter_args a = *(struct filter_args *)arg;
    int i;
    int rc;
    while ((rc = wyn_chan_recv(a.in, &i, WYN_FOREVER)) == 0) { /* for i := range in */
        if (i % a.prime != 0)
            CHECK_EQ(wyn_chan_send(a.out, &i, WYN_FOREVER), 0);
    }
    CHECK_EQ(rc, -EPIPE);
}

/* The prime sieve: daisy-chain filter coroutines together. */
static void sieve(void *arg)
{
    wyn_chan *primes = arg;
    wyn_chan *ch = mkchan();
    CHECK_EQ(wyn_spawn(generate, ch), 0); /* main is waiting for us: no -ESRCH */
    for (;;) {
        int prime;
        CHECK_EQ(wyn_chan_recv(ch, &prime, WYN_FOREVER), 0);
        CHECK_EQ(wyn_chan_send(primes, &prime, WYN_FOREVER), 0);
        wyn_chan *ch1 = mkchan();
        struct filter_args fa = {ch, ch1, prime};
        /* After the main coroutine got its last prime and returned, spawning
         * fails with -ESRCH: the program is ending, as Go's would. */
        int rc = wyn_spawn_ex(filter, NULL,
                              &(wyn_spawn_opts){.arg_copy = &fa, .arg_size = sizeof fa});
        CHECK(rc == 0 || rc == -ESRCH);
        ch = ch1;
    }
}

static void test_main(void *arg)
{
    (void)arg;
    wyn_chan *primes = mkchan();
    CHECK_EQ(wyn_spawn(sieve, primes), 0);
    static const int a[] = {2,  3,  5,  7,  11, 13, 17, 19, 23, 29, 31, 37, 41,
                            43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97};
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) {
        int x = -1;
        CHECK_EQ(wyn_chan_recv(primes, &x, WYN_FOREVER), 0);
        CHECK_EQ(x, a[i]);
    }
}

int main(void)
{
    test_run(test_main, NULL);
    int n = atomic_load(&nchans);
    for (int i = 0; i < n; i++)
        wyn_chan_free(chans[i]);
    return 0;
}
