/* render.c: the words people read. Short enough for one SMS segment
 * where possible; says magnitude, region, expected intensity, seconds to
 * shaking and what to do ("Drop, Cover, Hold On": the protective action
 * recommended by earthquake agencies). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dispatcher.h"

const char *qc_mmi_roman(double mmi)
{
    static const char *const r[] = { "I", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X" };
    long i = lround(mmi);
    if (i < 1)
        i = 1;
    if (i > 10)
        i = 10;
    return r[i];
}

size_t qc_render_message(char *out, size_t outsz, const char *lang, const qc_msg_job_t *job,
                         double mmi, double seconds)
{
    const char *place = job->place[0] ? job->place : "";
    const char *roman = qc_mmi_roman(mmi);
    long s = lround(seconds);
    int n;
    if (!strncmp(lang, "ro", 2)) {
        if (s > 0)
            n = snprintf(out, outsz, "CUTREMUR M%.1f %s. Zguduire puternica (intensitate %s) in ~%ld s. "
                                     "Apleaca-te, acopera-te, tine-te!", job->mag, place, roman, s);
        else
            n = snprintf(out, outsz, "CUTREMUR M%.1f %s: zguduire acum (intensitate %s). "
                                     "Apleaca-te, acopera-te, tine-te!", job->mag, place, roman);
    } else {
        if (s > 0)
            n = snprintf(out, outsz, "EARTHQUAKE M%.1f %s. Strong shaking (intensity %s) in ~%ld s. "
                                     "Drop, Cover, Hold On!", job->mag, place, roman, s);
        else
            n = snprintf(out, outsz, "EARTHQUAKE M%.1f %s: shaking now (intensity %s). "
                                     "Drop, Cover, Hold On!", job->mag, place, roman);
    }
    if (n < 0)
        return 0;
    return (size_t)n < outsz ? (size_t)n : outsz - 1;
}
