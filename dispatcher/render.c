/* render.c: the words people read. Short enough for one SMS segment
 * where possible; says magnitude, region, expected intensity, seconds to
 * shaking and what to do ("Drop, Cover, Hold On": the protective action
 * recommended by earthquake agencies). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dispatcher.h"
#include "qc/ipe.h"

size_t qc_render_message(char *out, size_t outsz, const char *lang, const qc_msg_job_t *job,
                         double mmi, double seconds)
{
    const char *place = job->place[0] ? job->place : "";
    const char *roman = qc_ipe_mmi_roman(mmi);
    long s = lround(seconds);
    int n;
    if (job->kind == QC_JOB_CANCEL) {
        if (!strncmp(lang, "ro", 2))
            n = snprintf(out, outsz, "ANULAT: avertizarea de cutremur M%.1f %s a fost retrasa. "
                                     "Nu sunt asteptate zguduiri de la acest eveniment.", job->mag, place);
        else
            n = snprintf(out, outsz, "CANCELLED: the earthquake warning M%.1f %s was retracted. "
                                     "No shaking is expected from this event.", job->mag, place);
    } else if (!strncmp(lang, "ro", 2)) {
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

size_t qc_render_broadcast(char *out, size_t outsz, const char *lang, const qc_msg_job_t *job)
{
    const char *place = job->place[0] ? job->place : "";
    char hhmm[16] = "";
    time_t t = (time_t)(job->origin_ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(hhmm, sizeof hhmm, "%H:%M:%S", &tm);
    int n;
    if (!strncmp(lang, "ro", 2))
        n = snprintf(out, outsz, "CUTREMUR M%.1f %s, adancime %.0f km, la %s UTC. Daca simti zguduiri: "
                                 "apleaca-te, acopera-te, tine-te!", job->mag, place, job->depth_km, hhmm);
    else
        n = snprintf(out, outsz, "EARTHQUAKE M%.1f %s, depth %.0f km, at %s UTC. If you feel shaking: "
                                 "Drop, Cover, Hold On!", job->mag, place, job->depth_km, hhmm);
    if (n < 0)
        return 0;
    return (size_t)n < outsz ? (size_t)n : outsz - 1;
}

size_t qc_render_subject(char *out, size_t outsz, const char *lang, const qc_msg_job_t *job)
{
    int n = snprintf(out, outsz, !strncmp(lang, "ro", 2) ? "Avertizare cutremur M%.1f %s" : "Earthquake warning M%.1f %s",
                     job->mag, job->place);
    if (n < 0)
        return 0;
    return (size_t)n < outsz ? (size_t)n : outsz - 1;
}
