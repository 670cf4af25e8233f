/* fuzz_feed_detect.c: libFuzzer target for what POST /v1/events does with
 * a body: qc_feed_detect() picks a parser (by sniffing, then as if the
 * Content-Type named QuakeML, then CAP) and qc_feed_parse() runs it. Seed it with
 * tests/data/fuzz/feed_detect/. Besides crashes and sanitizer reports it
 * traps on a broken parser contract (fuzz_feed.h). */
#include <stddef.h>
#include <stdint.h>

#include "feeds.h"
#include "fuzz_feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const content_types[] = { NULL, "application/quakeml+xml",
                                                 "application/cap+xml" };
    const char *buf = (const char *)data;

    for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++) {
        qc_event_t *evs = NULL;
        size_t n = 0;
        char err[256] = "";
        qc_feed_format_t fmt = qc_feed_detect(buf, size, content_types[i]);
        int rc = qc_feed_parse(fmt, buf, size, &evs, &n, err, sizeof(err));

        fuzz_check(rc, evs, n, err, sizeof(err));
    }
    return 0;
}
