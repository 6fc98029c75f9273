/* select.c — Go's select over wyn channels.
 *
 * Owns: nothing long-lived; a select's nodes (one per non-NULL case) live on
 * the selecting coroutine's stack, or in one allocation beyond 8 cases.
 * Steps, as Go's selectgo:
 *   1. shuffle the cases (poll order: uniform choice among ready cases) and
 *      sort the distinct channels by address (lock order);
 *   2. lock them all and take the first ready case in poll order;
 *   3. otherwise, unless the deadline passed (Go's default:), enqueue one
 *      node per case in poll order under a single wait (self, seq) and park;
 *      the first counterpart to claim the wait fires its case;
 *   4. on waking, lock all again and drop every node nobody retired.
 * A select never matches its own nodes: it only completes counterparts in
 * step 2, before it has enqueued anything, so sending to itself on an
 * unbuffered channel cannot happen. */
#include <stdlib.h>
#include <string.h>

#include "chan.h"

#define SELECT_MAX         1024
#define SELECT_STACK_CASES 8

typedef struct lockset {
    wyn_chan **chans;   /* distinct, sorted by address */
    size_t     n;
} lockset;

static void lock_all(lockset *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        wyn__spin_lock(&ls->chans[i]->lock);
}

static void unlock_all(void *arg)
{
    lockset *ls = arg;
    for (size_t i = ls->n; i-- > 0;)
        wyn__spin_unlock(&ls->chans[i]->lock);
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (wyn_chan *const *)a, y = (uintptr_t) * (wyn_chan *const *)b;
    return x < y ? -1 : x > y;
}

static uint64_t select_random(void)
{
    static _Thread_local uint64_t state;
    if (!state)
        state = (uint64_t)(uintptr_t)&state ^ (uint64_t)wyn_now() ^ 0x9E3779B97F4A7C15ull;
    return wyn__xorshift64(&state);
}

typedef struct select_wait {
    wyn_case  *cases;
    chan_node *nodes;
    size_t     n;
    lockset   *ls;
} select_wait;

/* Drop every node of this select except `fired` (retired by its claimer);
 * destroy channels whose last reference went while we waited. */
static void drop_nodes(select_wait *sw, long fired)
{
    wyn_chan *destroy[SELECT_STACK_CASES];
    size_t    ndestroy = 0;
    bool      overflow = false;
    lock_all(sw->ls);
    for (size_t i = 0; i < sw->n; i++) {
        wyn_chan *c = sw->cases[i].chan;
        if (!c || (long)i == fired)
            continue;
        chan_node *node = &sw->nodes[i];
        if (node->linked)
            wyn__chanq_remove(node->is_send ? &c->sendq : &c->recvq, node);
        if (wyn__chan_waiter_done(c)) {
            if (ndestroy < SELECT_STACK_CASES)
                destroy[ndestroy++] = c;
            else
                overflow = true;
        }
    }
    unlock_all(sw->ls);
    for (size_t i = 0; i < ndestroy; i++)
        wyn__chan_destroy(destroy[i]);
    if (overflow)
        wyn__fatal("wyn_select: too many channels freed while waited on");
}

/* Abandon hook (shutdown): as the owner's own step 4 would. */
static void select_unlink(wyn_co *co, bool woken)
{
    int rc = co->wake_result;
    drop_nodes(co->wait_obj, woken && (rc == 0 || rc == -EPIPE) ? (long)co->wake_data : -1);
}

int wyn_select(wyn_case *cases, size_t n, int64_t deadline)
{
    int rc = wyn__deadline_check(deadline);
    if (rc)
        return rc;
    if (n > SELECT_MAX || (n && !cases))
        return -EINVAL;
    size_t nchan = 0;
    for (size_t i = 0; i < n; i++) {
        if (cases[i].op != WYN_RECV && cases[i].op != WYN_SEND)
            return -EINVAL;
        if (cases[i].chan) {
            nchan++;
            if (cases[i].op == WYN_SEND && !cases[i].elem && cases[i].chan->elem_size)
                return -EINVAL;
        }
    }
    if (nchan == 0)
        return wyn__park_alone(deadline);   /* select {} or only NULL channels */

    uint16_t   order_s[SELECT_STACK_CASES];
    wyn_chan  *chans_s[SELECT_STACK_CASES];
    chan_node  nodes_s[SELECT_STACK_CASES];
    uint16_t  *order = order_s;
    wyn_chan **chans = chans_s;
    chan_node *nodes = nodes_s;
    void      *heap = NULL;
    if (n > SELECT_STACK_CASES) {
        heap = malloc(n * (sizeof *order + sizeof *chans + sizeof *nodes) + 16);
        if (!heap)
            return -ENOMEM;
        nodes = heap;
        chans = (wyn_chan **)(nodes + n);
        order = (uint16_t *)(chans + n);
    }

    /* 1. poll order: a uniform shuffle (Fisher-Yates); lock order: sorted. */
    for (size_t i = 0; i < n; i++) {
        size_t j = (size_t)(select_random() % (i + 1));
        order[i] = order[j];
        order[j] = (uint16_t)i;
    }
    size_t nc = 0;
    for (size_t i = 0; i < n; i++)
        if (cases[i].chan)
            chans[nc++] = cases[i].chan;
    if (nc <= 16) {
        for (size_t i = 1; i < nc; i++)
            for (size_t j = i; j > 0 && (uintptr_t)chans[j - 1] > (uintptr_t)chans[j]; j--) {
                wyn_chan *t = chans[j];
                chans[j] = chans[j - 1];
                chans[j - 1] = t;
            }
    } else {
        qsort(chans, nc, sizeof *chans, cmp_ptr);
    }
    size_t distinct = 0;
    for (size_t i = 0; i < nc; i++)
        if (!distinct || chans[distinct - 1] != chans[i])
            chans[distinct++] = chans[i];
    lockset ls = {chans, distinct};

    /* 2. a case that is ready now. */
    lock_all(&ls);
    long       fired = -1;
    int        err = 0;
    chan_node *partner = NULL;
    for (size_t k = 0; k < n && fired < 0; k++) {
        size_t i = order[k];
        wyn_chan *c = cases[i].chan;
        if (!c)
            continue;
        if (cases[i].op == WYN_RECV) {
            if ((partner = wyn__chanq_claim(c, &c->sendq))) {
                wyn__chan_recv_from_sender(c, partner, cases[i].elem);
                fired = (long)i;
            } else if (c->count > 0) {
                wyn__chan_buf_take(c, cases[i].elem);
                fired = (long)i;
            } else if (c->closed) {
                err = -EPIPE;
                fired = (long)i;
            }
        } else {
            if (c->closed) {
                err = -EPIPE;
                fired = (long)i;
            } else if ((partner = wyn__chanq_claim(c, &c->recvq))) {
                wyn__chan_send_to_receiver(c, partner, cases[i].elem);
                fired = (long)i;
            } else if (c->count < c->cap) {
                wyn__chan_buf_put(c, cases[i].elem);
                fired = (long)i;
            }
        }
    }
    if (fired >= 0) {
        unlock_all(&ls);
        if (partner)
            wyn__ready(partner->co, true);
        rc = (int)fired;
        goto fire;
    }

    /* 3. wait on every case at once. */
    wyn_co *self = wyn__self();
    rc = wyn__wait_check(self, deadline);
    if (rc) {
        unlock_all(&ls);
        goto out;
    }
    uint64_t seq = wyn__wait_arm(self);
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        wyn_chan *c = cases[i].chan;
        if (!c)
            continue;
        chan_node *node = &nodes[i];
        memset(node, 0, sizeof *node);
        node->chan = c;
        node->co = self;
        node->seq = seq;
        node->elem = cases[i].elem;
        node->case_index = (int)i;
        node->is_send = cases[i].op == WYN_SEND;
        wyn__chanq_push(node->is_send ? &c->sendq : &c->recvq, node);
        c->waiting++;
    }
    select_wait sw = {cases, nodes, n, &ls};
    self->wait_obj = &sw;
    self->wait_unlink = select_unlink;
    rc = wyn__park(self, seq, deadline, unlock_all, &ls);
    self->wait_unlink = NULL;

    /* 4. drop the nodes nobody retired (which may free an orphaned channel:
     * what the fired case needs is read first). */
    fired = (rc == 0 || rc == -EPIPE) ? (long)self->wake_data : -1;
    size_t fired_elem_size = fired >= 0 ? cases[fired].chan->elem_size : 0;
    drop_nodes(&sw, fired);
    if (fired < 0)
        goto out;
    err = rc;
    rc = (int)fired;
    goto done;
fire:
    fired_elem_size = cases[fired].chan->elem_size;
done:
    cases[fired].err = err;
    if (err == -EPIPE && cases[fired].op == WYN_RECV && cases[fired].elem && fired_elem_size)
        memset(cases[fired].elem, 0, fired_elem_size);
out:
    free(heap);
    return rc;
}
