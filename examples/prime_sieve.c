/* prime_sieve — the concurrent prime sieve from Go's tour, in wyn.
 *
 * A generator sends 2, 3, 4, ... into a channel; each prime found gets a
 * filter coroutine that passes on only numbers it does not divide, chained
 * behind the previous filter. Prints the first N primes (default 100). */
#include <stdio.h>
#include <stdlib.h>

#include "wyn.h"

struct filter_args {
    wyn_chan *in, *out;
    int       prime;
};

static void generate(void *arg)
{
    wyn_chan *ch = arg;
    for (int i = 2;; i++)
        if (wyn_chan_send(ch, &i, WYN_FOREVER) != 0)
            return;   /* closed: the program is done */
}

static void filter(void *arg)
{
    struct filter_args *f = arg;
    int v;
    while (wyn_chan_recv(f->in, &v, WYN_FOREVER) == 0)
        if (v % f->prime != 0 && wyn_chan_send(f->out, &v, WYN_FOREVER) != 0)
            return;
}

static int count = 100;

static void sieve(void *arg)
{
    (void)arg;
    wyn_chan *ch = wyn_chan_make(sizeof(int), 0);
    if (!ch || wyn_spawn(generate, ch) != 0)
        exit(1);
    for (int i = 0; i < count; i++) {
        int prime;
        if (wyn_chan_recv(ch, &prime, WYN_FOREVER) != 0)
            exit(1);
        printf("%d%c", prime, (i + 1) % 10 ? ' ' : '\n');
        wyn_chan *next = wyn_chan_make(sizeof(int), 0);
        struct filter_args f = {ch, next, prime};
        if (!next || wyn_spawn_ex(filter, NULL,
                                  &(wyn_spawn_opts){.arg_copy = &f, .arg_size = sizeof f}) != 0)
            exit(1);
        ch = next;
    }
    /* Returning from main ends the program's coroutines, as in Go; the
     * channels go with the process. */
}

int main(int argc, char **argv)
{
    if (argc > 1)
        count = atoi(argv[1]);
    printf("the first %d primes, by a chain of %d filter coroutines:\n", count, count);
    return wyn_run(sieve, NULL, NULL) == 0 ? 0 : 1;
}
