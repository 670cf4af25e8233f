/* mime.c: just enough of RFC 5322 and MIME (RFC 2045, 2046) to find the
 * text a mail is keyed on: header lookup with unfolding, multipart walking
 * by boundary, quoted-printable and base64 decoding. Mail is test input
 * here, so anything odd degrades to "the body as it is", never to a crash. */
#include "mime.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIME_MAX_DEPTH 8

/* Splits @p msg into its header block and body at the first empty line. */
static void split(const char *msg, size_t len, size_t *hlen, const char **body,
                  size_t *blen)
{
    for (size_t i = 0; i < len; i++) {
        if (msg[i] != '\n')
            continue;
        /* line i ends here: is the next one empty? */
        if (i + 1 < len && msg[i + 1] == '\n') {
            *hlen = i + 1;
            *body = msg + i + 2;
            *blen = len - i - 2;
            return;
        }
        if (i + 2 < len && msg[i + 1] == '\r' && msg[i + 2] == '\n') {
            *hlen = i + 1;
            *body = msg + i + 3;
            *blen = len - i - 3;
            return;
        }
    }
    if (len >= 2 && msg[0] == '\r' && msg[1] == '\n') {
        *hlen = 0;
        *body = msg + 2;
        *blen = len - 2;
        return;
    }
    *hlen = len;
    *body = msg + len;
    *blen = 0;
}

static size_t line_end(const char *p, size_t len, size_t i)
{
    while (i < len && p[i] != '\n')
        i++;
    return i;
}

char *sink_mime_header(const char *h, size_t hlen, const char *name)
{
    size_t nlen = strlen(name), i = 0;

    while (i < hlen) {
        size_t e = line_end(h, hlen, i);

        if (h[i] != ' ' && h[i] != '\t' && e - i > nlen && h[i + nlen] == ':' &&
            strncasecmp(h + i, name, nlen) == 0) {
            char *out = malloc(hlen - i + 1);
            size_t n = 0, start = i + nlen + 1;

            if (out == NULL)
                return NULL;
            /* the value and its continuation lines, unfolded */
            for (;;) {
                for (size_t k = start; k < e; k++)
                    if (h[k] != '\r')
                        out[n++] = h[k];
                i = e + 1;
                if (i >= hlen || (h[i] != ' ' && h[i] != '\t'))
                    break;
                start = i;
                e = line_end(h, hlen, i);
            }
            while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
                n--;
            out[n] = '\0';
            start = strspn(out, " \t");
            memmove(out, out + start, n - start + 1);
            return out;
        }
        i = e + 1;
    }
    return NULL;
}

/* @returns the malloc'd boundary parameter of a Content-Type, or NULL. */
static char *boundary_of(const char *ct)
{
    const char *p = ct;

    while ((p = strchr(p, ';')) != NULL) {
        size_t n;

        p++;
        p += strspn(p, " \t");
        if (strncasecmp(p, "boundary=", 9) != 0)
            continue;
        p += 9;
        if (*p == '"') {
            const char *q = strchr(p + 1, '"');

            if (q == NULL)
                return NULL;
            return strndup(p + 1, (size_t)(q - p - 1));
        }
        n = strcspn(p, " \t;");
        return n ? strndup(p, n) : NULL;
    }
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes into @p out (at least @p len bytes). @returns bytes written. */
static size_t qp_decode(const char *in, size_t len, char *out)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (in[i] != '=') {
            out[n++] = in[i];
        } else if (i + 1 < len && in[i + 1] == '\n') {
            i += 1; /* soft line break */
        } else if (i + 2 < len && in[i + 1] == '\r' && in[i + 2] == '\n') {
            i += 2;
        } else if (i + 2 < len && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
            out[n++] = (char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            i += 2;
        } else {
            out[n++] = '=';
        }
    }
    return n;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Lenient: line breaks and other non-alphabet bytes are skipped. */
static size_t b64_decode(const char *in, size_t len, char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;

    for (size_t i = 0; i < len && in[i] != '='; i++) {
        int v = b64val(in[i]);

        if (v < 0)
            continue;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    return n;
}

/* Decodes a leaf part's body per its Content-Transfer-Encoding, turns CRLF
 * into LF and trims trailing white space. @returns malloc'd text or NULL. */
static char *leaf_text(const char *h, size_t hlen, const char *body, size_t blen,
                       size_t *tlen)
{
    char *cte = sink_mime_header(h, hlen, "Content-Transfer-Encoding");
    char *out = malloc(blen + 1);
    size_t n, k = 0;

    if (out == NULL) {
        free(cte);
        return NULL;
    }
    if (cte != NULL && strcasecmp(cte, "quoted-printable") == 0) {
        n = qp_decode(body, blen, out);
    } else if (cte != NULL && strcasecmp(cte, "base64") == 0) {
        n = b64_decode(body, blen, out);
    } else {
        memcpy(out, body, blen);
        n = blen;
    }
    free(cte);
    for (size_t i = 0; i < n; i++)
        if (!(out[i] == '\r' && i + 1 < n && out[i + 1] == '\n'))
            out[k++] = out[i];
    while (k > 0 && (out[k - 1] == ' ' || out[k - 1] == '\t' || out[k - 1] == '\r' ||
                     out[k - 1] == '\n'))
        k--;
    out[k] = '\0';
    *tlen = k;
    return out;
}

/* Finds the text of entity @p msg: its first text/plain leaf, else its
 * first leaf. *plain tells which one was found. */
static char *entity_text(const char *msg, size_t len, int depth, bool *plain,
                         size_t *tlen)
{
    const char *body;
    size_t hlen, blen, blen_b;
    char *ct, *bnd, *best = NULL;
    size_t best_len = 0, i;

    split(msg, len, &hlen, &body, &blen);
    ct = sink_mime_header(msg, hlen, "Content-Type");
    if (ct == NULL || depth >= MIME_MAX_DEPTH || strncasecmp(ct, "multipart/", 10) != 0 ||
        (bnd = boundary_of(ct)) == NULL) {
        /* a leaf; no Content-Type means text/plain (RFC 2045 §5.2) */
        *plain = ct == NULL || strncasecmp(ct, "text/plain", 10) == 0;
        free(ct);
        return leaf_text(msg, hlen, body, blen, tlen);
    }
    free(ct);
    blen_b = strlen(bnd);
    /* walk the delimiter lines "--boundary" (RFC 2046 §5.1.1) */
    const char *part = NULL;
    for (i = 0; i < blen;) {
        size_t e = line_end(body, blen, i);
        bool delim = e - i >= blen_b + 2 && body[i] == '-' && body[i + 1] == '-' &&
                     memcmp(body + i + 2, bnd, blen_b) == 0;

        if (delim) {
            if (part != NULL) {
                /* the CRLF before the delimiter belongs to it */
                size_t plen = (size_t)(body + i - part);
                bool p_plain = false;
                size_t t;
                char *txt;

                if (plen > 0 && part[plen - 1] == '\n')
                    plen--;
                if (plen > 0 && part[plen - 1] == '\r')
                    plen--;
                txt = entity_text(part, plen, depth + 1, &p_plain, &t);
                if (txt != NULL && p_plain) {
                    free(best);
                    free(bnd);
                    *plain = true;
                    *tlen = t;
                    return txt;
                }
                if (best == NULL) {
                    best = txt;
                    best_len = t;
                } else {
                    free(txt);
                }
            }
            if (e - i >= blen_b + 4 && body[i + 2 + blen_b] == '-' &&
                body[i + 3 + blen_b] == '-')
                break; /* close delimiter */
            part = body + (e < blen ? e + 1 : blen);
        }
        i = e + 1;
    }
    free(bnd);
    *plain = false;
    if (best != NULL) {
        *tlen = best_len;
        return best;
    }
    return leaf_text(msg, hlen, body, blen, tlen);
}

char *sink_mime_text(const char *msg, size_t len, size_t *tlen)
{
    bool plain;

    return entity_text(msg, len, 0, &plain, tlen);
}

char *sink_mime_message_id(const char *msg, size_t len)
{
    const char *body;
    size_t hlen, blen;

    split(msg, len, &hlen, &body, &blen);
    return sink_mime_header(msg, hlen, "Message-ID");
}
