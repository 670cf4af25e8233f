/* api/pages.c: the web pages, embedded in the binary at build time
 * (processor/web/, by cmake/QcEmbed.cmake, as the Lua scripts are): the
 * sign-up page at /, the operator dashboard at /dashboard, and their
 * scripts, style sheet and map data under /static/. No external CDN: the
 * Content-Security-Policy allows this origin only, no inline script or
 * style, and no framing. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <string.h>

#include "apiutil.h"

extern const char qc_embed_index[], qc_embed_dashboard[], qc_embed_app_signup[], qc_embed_app_dashboard[],
    qc_embed_app_common[], qc_embed_style[], qc_embed_towns[];
extern const unsigned long qc_embed_index_len, qc_embed_dashboard_len, qc_embed_app_signup_len,
    qc_embed_app_dashboard_len, qc_embed_app_common_len, qc_embed_style_len, qc_embed_towns_len;

static const struct page {
    const char *path;
    const char *type;
    const char *data;
    const unsigned long *len;
} pages[] = {
    { "/", "text/html; charset=utf-8", qc_embed_index, &qc_embed_index_len },
    { "/dashboard", "text/html; charset=utf-8", qc_embed_dashboard, &qc_embed_dashboard_len },
    { "/static/app-common.js", "text/javascript; charset=utf-8", qc_embed_app_common, &qc_embed_app_common_len },
    { "/static/app-signup.js", "text/javascript; charset=utf-8", qc_embed_app_signup, &qc_embed_app_signup_len },
    { "/static/app-dashboard.js", "text/javascript; charset=utf-8", qc_embed_app_dashboard,
      &qc_embed_app_dashboard_len },
    { "/static/style.css", "text/css; charset=utf-8", qc_embed_style, &qc_embed_style_len },
    { "/static/towns.json", "application/json", qc_embed_towns, &qc_embed_towns_len },
};

void qc_api_pages(struct evhttp_request *req, const char *rest, void *opaque)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        qc_http_reply_error(req, 405, "method_not_allowed", "use GET", NULL);
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const struct page *pg = NULL;
    for (size_t i = 0; path && i < sizeof pages / sizeof pages[0]; i++)
        if (!strcmp(path, pages[i].path))
            pg = &pages[i];
    if (!pg) {
        qc_http_reply_error(req, 404, "not_found", "no such page", NULL);
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", pg->type);
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                      "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    struct evbuffer *out = evbuffer_new();
    if (out && cmd == EVHTTP_REQ_GET)
        evbuffer_add_reference(out, pg->data, *pg->len, NULL, NULL);
    evhttp_send_reply(req, 200, "OK", out);
    if (out)
        evbuffer_free(out);
}
