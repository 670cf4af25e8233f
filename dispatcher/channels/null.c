/* channels/null.c: the benchmark channel. Everything up to the provider
 * call has happened (claim, record read, decision, rendering); the hand-off
 * itself is a no-op that succeeds at once. */
#include "dispatcher.h"

static int null_send(qc_disp_t *d, void *state, qc_send_t *s)
{
    (void)d;
    (void)state;
    /* Synchronous by design: chunk.c tolerates done() from inside send(). */
    s->done(s, QC_SEND_OK, -1, NULL);
    return 0;
}

const qc_channel_driver_t qc_channel_null = { .name = "null", .send = null_send };
