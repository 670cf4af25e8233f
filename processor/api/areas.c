/* api/areas.c: GET /v1/areas?lat=&lon=&min_mmi= — the area broadcast
 * routes of a place: the FCM topic an app subscribes its device to, the
 * Telegram channel a person joins. A subscriber who listens there (their
 * channel's "area": true) is then warned by one message per area instead of
 * one each. Public and computed, no storage: an app may ask before it
 * registers, and the answer is the same for everyone at that place. */
#include <event2/http.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "processor.h"
#include "qc/httpd.h"
#include "qc/subscriber.h"

static bool query_number(struct evhttp_request *req, const char *key, double *out)
{
    char v[32];
    if (!qc_http_query(req, key, v, sizeof v))
        return false;
    char *end;
    *out = strtod(v, &end);
    return end != v && !*end && isfinite(*out);
}

void qc_api_areas(struct evhttp_request *req, const char *rest, void *opaque)
{
    (void)rest;
    qc_proc_t *p = opaque;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        qc_http_reply_error(req, 405, "method_not_allowed", "use GET", NULL);
        return;
    }
    double lat, lon, mmi = (double)p->conf.default_min_mmi;
    if (!query_number(req, "lat", &lat) || lat < -90 || lat > 90) {
        qc_http_reply_error(req, 400, "invalid_location", "lat must be a number in [-90, 90]", "lat");
        return;
    }
    if (!query_number(req, "lon", &lon) || lon < -180 || lon > 180) {
        qc_http_reply_error(req, 400, "invalid_location", "lon must be a number in [-180, 180]", "lon");
        return;
    }
    char v[32];
    if (qc_http_query(req, "min_mmi", v, sizeof v) && (!query_number(req, "min_mmi", &mmi) || mmi != floor(mmi) ||
                                                      mmi < 1 || mmi > 10)) {
        qc_http_reply_error(req, 400, "invalid_min_mmi", "min_mmi must be an integer from 1 to 10", "min_mmi");
        return;
    }
    char cell[32], push[64] = "", tg[64] = "";
    qc_cell_of(lat, lon, cell, sizeof cell);
    json_t *out = json_pack("{s:s,s:i}", "cell", cell, "min_mmi", (int)mmi);
    if (out && p->conf.push_area_prefix[0] && qc_area_topic(p->conf.push_area_prefix, lat, lon, (int)mmi, push, sizeof push) == 0)
        json_object_set_new(out, "push", json_pack("{s:s}", "topic", push));
    if (out && p->conf.telegram_area_prefix[0] &&
        qc_area_topic(p->conf.telegram_area_prefix, lat, lon, (int)mmi, tg + 1, sizeof tg - 1) == 0) {
        tg[0] = '@';
        json_object_set_new(out, "telegram", json_pack("{s:s}", "channel", tg));
    }
    if (!out) {
        qc_http_reply_error(req, 500, "internal", "out of memory", NULL);
        return;
    }
    qc_http_reply_json(req, 200, out);
}
