/* area.h: area broadcasts. One message to the push topic or Telegram
 * channel of a geographic cell and threshold (qc_area_topic()) reaches every
 * device listening there; the people who said they listen (the subscriber's
 * "area" flag on that channel) then need no personal message.
 *
 * Below chunk.c, beside the rate limiter: a chunk asks whether a person is
 * reached by their area's message (qc_area_join()); the first chunk of an
 * alert to ask for an area, in any dispatcher, gets it sent; the answer
 * comes back through the callback given to qc_areas_new(). */
#ifndef QC_AREA_H
#define QC_AREA_H

#include <stdbool.h>

#include "dispatcher.h"
#include "ratelimit.h"

typedef struct qc_areas qc_areas_t;

typedef enum qc_area_outcome {
    QC_AREA_REACHED = 0, /* the area's message was handed to the provider */
    QC_AREA_PERSONAL,    /* it was not (refused, gave up, Redis away): send personally */
    QC_AREA_ABANDON,     /* the dispatcher is stopping: leave the person to the next owner */
} qc_area_outcome_t;

/** Called once for every node parked by qc_area_join() that returned 0. */
typedef void (*qc_area_resolved_fn)(void *user, qc_rl_node_t *node, qc_area_outcome_t o);

/** @returns NULL when out of memory. */
qc_areas_t *qc_areas_new(qc_disp_t *d, qc_area_resolved_fn resolved, void *user);
/** Frees everything; parked nodes are dropped without a callback (exit). */
void qc_areas_destroy(qc_areas_t *a);

/** The area route of @p sub on channel @p ch, if the person listens there
 *  and this dispatcher sends area broadcasts on it. @returns true and the
 *  route in @p out, or false. */
bool qc_area_route(const qc_disp_t *d, int ch, const qc_subscriber_t *sub, char *out, size_t outsz);

/** Is @p sub (whose area route on @p ch is @p route) reached by the area's
 *  message for @p job? @returns a qc_area_outcome_t when known now, or -1:
 *  @p node is parked (its next field is the area's until the callback) and
 *  answered later. The first person asking for an area starts its claim. */
int qc_area_join(qc_areas_t *a, const qc_msg_job_t *job, int ch, const char *route, const qc_subscriber_t *sub,
                 qc_rl_node_t *node);

/** The rate limiter handed back a node; true if it is one of the areas'
 *  (then it has been taken care of). */
bool qc_area_ready(qc_areas_t *a, qc_rl_node_t *node);

/** A job of @p job's alert arrived: the first dispatcher to ask for an
 *  alert starts every area it reaches, earliest S wave first (area.c, "The
 *  plan"). Cheap when asked again. */
void qc_areas_plan(qc_areas_t *a, const qc_msg_job_t *job);

/** Stopping: every parked node is answered QC_AREA_ABANDON; sends in
 *  flight finish. */
void qc_areas_stop(qc_areas_t *a);

#endif
