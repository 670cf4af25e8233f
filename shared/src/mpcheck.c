/* mpcheck.c: see mpcheck.h. Format: the msgpack specification
 * (github.com/msgpack/msgpack/blob/master/spec.md, "Formats"). */
#include "qc/mpcheck.h"
#include "qc/err.h"

#include <stdint.h>

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int qc_mp_check(const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf, *end = p + len;
    uint64_t pending[QC_MP_MAX_DEPTH + 1]; /* objects still to read per level */
    int depth = 0;
    pending[0] = 1;
    if (!buf)
        return QC_ERR_PARSE;
    while (depth >= 0) {
        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        pending[depth]--;
        if (p >= end)
            return QC_ERR_PARSE;
        unsigned t = *p++;
        uint64_t skip = 0, items = 0;
        int hdr = 0;
        if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
            continue;
        } else if (t <= 0x8f) {
            items = 2 * (uint64_t)(t & 0x0f);
        } else if (t <= 0x9f) {
            items = t & 0x0f;
        } else if (t <= 0xbf) {
            skip = t & 0x1f;
        } else {
            switch (t) {
            case 0xc4: case 0xd9: hdr = 1; break;             /* bin8, str8 */
            case 0xc5: case 0xda: hdr = 2; break;             /* bin16, str16 */
            case 0xc6: case 0xdb: hdr = 4; break;             /* bin32, str32 */
            case 0xc7: hdr = 1; skip = 1; break;              /* ext8 (+type) */
            case 0xc8: hdr = 2; skip = 1; break;
            case 0xc9: hdr = 4; skip = 1; break;
            case 0xca: skip = 4; break;
            case 0xcb: skip = 8; break;
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;                       /* fixext 1..16 (+type) */
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: case 0xde: hdr = 2; break;             /* array16, map16 */
            case 0xdd: case 0xdf: hdr = 4; break;             /* array32, map32 */
            default: return QC_ERR_PARSE;                     /* 0xc1: never used */
            }
            if (hdr) {
                if ((size_t)(end - p) < (size_t)hdr)
                    return QC_ERR_PARSE;
                uint64_t n = be(p, hdr);
                p += hdr;
                if (t == 0xdc || t == 0xdd)
                    items = n;
                else if (t == 0xde || t == 0xdf)
                    items = 2 * n;
                else
                    skip += n;
            }
        }
        if (skip > (uint64_t)(end - p))
            return QC_ERR_PARSE;
        p += skip;
        if (items) {
            /* Every element takes at least one byte. */
            if (items > (uint64_t)(end - p) || depth == QC_MP_MAX_DEPTH)
                return QC_ERR_PARSE;
            pending[++depth] = items;
        }
    }
    return 0;
}
