/* event.c: predicates on normalised events.
 *
 * Feeds disagree on how event types are spelled ("quarry blast" in ComCat,
 * "quarry_blast" in its 2014 summary feeds, "Quarry Blast" elsewhere), so
 * types are compared after folding case and treating ' ', '_' and '-' alike.
 * A type we do not know is taken as an earthquake: a missed warning costs
 * more than a needless one. */
#include "qc/event.h"

#include <stddef.h>
#include <string.h>

/* Non-tectonic types of QuakeML 1.2 (EventType) and USGS ComCat, written
 * folded: lower case, single spaces. "induced or triggered event", "fluid
 * injection" and the like are not here on purpose: they are earthquakes,
 * whatever caused them, and they shake the ground. */
static const char *const non_earthquake_types[] = {
    "not existing", /* QuakeML: the event was bogus */
    "anthropogenic event",
    "quarry",
    "quarry blast",
    "explosion",
    "accidental explosion",
    "chemical explosion",
    "controlled explosion",
    "experimental explosion",
    "industrial explosion",
    "mining explosion",
    "nuclear explosion",
    "volcanic explosion",
    "road cut",
    "blasting levee",
    "collapse",
    "cavity collapse",
    "mine collapse",
    "building collapse",
    "rock burst",
    "crash",
    "plane crash",
    "train crash",
    "boat crash",
    "other",
    "other event",
    "atmospheric event",
    "sonic boom",
    "sonic blast",
    "acoustic noise",
    "thunder",
    "avalanche",
    "snow avalanche",
    "debris avalanche",
    "hydroacoustic event",
    "ice quake",
    "icequake",
    "slide",
    "landslide",
    "rockslide",
    "rock slide",
    "meteor",
    "meteorite",
    "volcanic eruption",
};

/* Folds @p type into @p buf: ASCII lower case, '_' and '-' as spaces, runs
 * of spaces squeezed, leading and trailing spaces dropped.
 * @returns false if it does not fit (then it is no type we list). */
static bool fold_type(const char *type, char *buf, size_t size)
{
    size_t n = 0;
    bool space = false;

    for (const char *p = type; *p; p++) {
        char c = *p;
        if (c == '_' || c == '-' || c == ' ' || c == '\t') {
            space = n > 0;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (n + (space ? 2 : 1) >= size)
            return false;
        if (space)
            buf[n++] = ' ';
        buf[n++] = c;
        space = false;
    }
    buf[n] = '\0';
    return true;
}

bool qc_event_is_earthquake(const char *type)
{
    char folded[64];

    if (!type || !fold_type(type, folded, sizeof(folded)))
        return true;
    for (size_t i = 0; i < sizeof(non_earthquake_types) / sizeof(non_earthquake_types[0]); i++) {
        if (strcmp(folded, non_earthquake_types[i]) == 0)
            return false;
    }
    return true;
}

const char *qc_event_status_str(qc_event_status_t s)
{
    switch (s) {
    case QC_EV_AUTOMATIC:
        return "automatic";
    case QC_EV_REVIEWED:
        return "reviewed";
    case QC_EV_DELETED:
        return "deleted";
    }
    return "automatic"; /* out-of-range value: never NULL for a printf */
}
