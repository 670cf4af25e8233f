/* fuzz_cap.c: libFuzzer target for the CAP parser. Seed it with
 * tests/data/fuzz/cap/ (and tests/fuzz/cap.dict when there is one).
 * Besides crashes, leaks and sanitizer reports it traps on a broken parser
 * contract (fuzz_feed.h). */
#include <stddef.h>
#include <stdint.h>

#include "feeds.h"
#include "fuzz_feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    qc_event_t *evs = NULL;
    size_t n = 0;
    char err[256] = "";
    int rc = qc_feed_cap_parse((const char *)data, size, &evs, &n, err, sizeof(err));

    fuzz_check(rc, evs, n, err, sizeof(err));
    return 0;
}
