/* qc-ipe-predict: the intensity quakecast predicts, from the same code the
 * processor and dispatchers run, for scripts (tests/validation/report).
 *
 *   qc-ipe-predict < lines
 *
 * Each input line: "event_lat event_lon depth_km mag site_lat site_lon
 * [model]" where model is a name (AWW2012, ...) or "auto" (default: the
 * regime of the compiled-in regions table picks it). Each output line:
 * "mmi model regime s_arrival_s". Bad lines print "error <reason>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qc/geo.h"
#include "qc/ipe.h"
#include "qc/regime.h"
#include "qc/ttime.h"

int main(void)
{
    char err[256];
    qc_regions_t *regions = qc_regions_load(getenv("QUAKECAST_REGIONS_FILE"), err, sizeof err);
    if (!regions) {
        fprintf(stderr, "qc-ipe-predict: %s\n", err);
        return 2;
    }
    char line[512];
    while (fgets(line, sizeof line, stdin)) {
        double elat, elon, depth, mag, slat, slon;
        char model[32] = "auto";
        int n = sscanf(line, "%lf %lf %lf %lf %lf %lf %31s", &elat, &elon, &depth, &mag, &slat, &slon, model);
        if (n < 6 || !qc_geo_valid(elat, elon) || !qc_geo_valid(slat, slon) || depth < 0) {
            printf("error bad line\n");
            continue;
        }
        qc_regime_t g = qc_regions_classify(regions, elat, elon, depth, NULL);
        qc_quake_t q = { .model = qc_ipe_model_for(g), .lat = elat, .lon = elon, .depth_km = depth, .mag = mag };
        if (strcmp(model, "auto")) {
            int found = -1;
            for (int m = 0; m < QC_IPE_MODEL_COUNT; m++)
                if (!strcmp(model, qc_ipe_model_name((qc_ipe_model_t)m)))
                    found = m;
            if (found < 0) {
                printf("error unknown model %s\n", model);
                continue;
            }
            q.model = (qc_ipe_model_t)found;
        }
        double epi = qc_geo_distance_km(elat, elon, slat, slon);
        printf("%.4f %s %s %.2f\n", qc_ipe_at(&q, slat, slon), qc_ipe_model_name(q.model), qc_regime_name(g),
               qc_ttime_s(depth, epi));
    }
    qc_regions_destroy(regions);
    return 0;
}
