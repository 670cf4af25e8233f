/* sign.c: Standard Webhooks "v1" signatures and the strict base64 they use. */
#include "qc/sign.h"

#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "qc/err.h"

#define SIGN_MAC_LEN 32 /* SHA-256 */
#define SIGN_B64_LEN 44 /* base64 of 32 bytes, with one '=' */
#define SECRET_PREFIX "whsec_"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int qc_base64_encode(const unsigned char *in, size_t len, char *out, size_t outsz)
{
    if ((!in && len) || !out)
        return QC_ERR_INVAL;
    if (len > ((size_t)INT_MAX / 4) * 3 - 3)
        return QC_ERR_TOOBIG;
    size_t need = (len + 2) / 3 * 4;
    if (outsz < need + 1)
        return QC_ERR_TOOBIG;

    size_t i = 0, o = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return (int)o;
}

/* @returns the 6-bit value of @p ch, or -1 for anything outside the standard
 * alphabet (including '=', whitespace and the URL-safe "-_"). */
static int b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+')
        return 62;
    if (ch == '/')
        return 63;
    return -1;
}

/* Strict on purpose: a signature or secret that only decodes under a lenient
 * reading is a sign of a mangled header or config, not something to guess at.
 * Rejected: length not a multiple of 4, characters outside the alphabet,
 * '=' anywhere but the last one or two places, and non-zero bits under the
 * padding (non-canonical encodings). */
int qc_base64_decode(const char *in, size_t len, unsigned char *out, size_t outsz)
{
    if ((!in && len) || (!out && outsz))
        return QC_ERR_INVAL;
    if (len % 4 != 0)
        return QC_ERR_PARSE;
    if (len == 0)
        return 0;
    if (len / 4 * 3 > (size_t)INT_MAX)
        return QC_ERR_TOOBIG;

    size_t pad = 0;
    if (in[len - 1] == '=')
        pad = in[len - 2] == '=' ? 2 : 1;
    size_t outlen = len / 4 * 3 - pad;
    if (outlen > outsz)
        return QC_ERR_TOOBIG;

    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        size_t nchars = last ? 4 - pad : 4;
        uint32_t v = 0;
        for (size_t k = 0; k < 4; k++) {
            int d = 0;
            if (k < nchars) {
                d = b64_value((unsigned char)in[i + k]);
                if (d < 0)
                    return QC_ERR_PARSE;
            }
            v = v << 6 | (uint32_t)d;
        }
        /* the bits the padding stands for must be zero */
        if (nchars == 2 && (v & 0xffff) != 0)
            return QC_ERR_PARSE;
        if (nchars == 3 && (v & 0xff) != 0)
            return QC_ERR_PARSE;
        out[o++] = (unsigned char)(v >> 16);
        if (nchars > 2)
            out[o++] = (unsigned char)(v >> 8);
        if (nchars > 3)
            out[o++] = (unsigned char)v;
    }
    return (int)o;
}

int qc_sign_secret_decode(const char *secret, unsigned char *key, size_t keysz)
{
    if (!secret || !key)
        return QC_ERR_INVAL;
    size_t plen = sizeof(SECRET_PREFIX) - 1;
    if (strncmp(secret, SECRET_PREFIX, plen) == 0)
        secret += plen;
    int n = qc_base64_decode(secret, strlen(secret), key, keysz);
    return n > 0 ? n : QC_ERR_INVAL;
}

/* HMAC-SHA256 over "<msg_id>.<ts>.<body>", fed in pieces so the body is
 * never copied. */
static int sign_mac(const unsigned char *key, size_t keylen, const char *msg_id,
                    int64_t ts, const char *body, size_t bodylen,
                    unsigned char mac[SIGN_MAC_LEN])
{
    if (!key || keylen == 0 || !msg_id || (!body && bodylen))
        return QC_ERR_INVAL;

    char tsbuf[24];
    int tslen = snprintf(tsbuf, sizeof(tsbuf), "%" PRId64, ts);
    if (tslen < 0 || (size_t)tslen >= sizeof(tsbuf))
        return QC_ERR_INVAL;

    char digest[] = OSSL_DIGEST_NAME_SHA2_256;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    size_t maclen = 0;
    EVP_MAC_CTX *ctx = NULL;
    int rc = QC_ERR_NOMEM;
    EVP_MAC *alg = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    if (!alg)
        goto out;
    ctx = EVP_MAC_CTX_new(alg);
    if (!ctx)
        goto free_alg;

    if (!EVP_MAC_init(ctx, key, keylen, params)
        || !EVP_MAC_update(ctx, (const unsigned char *)msg_id, strlen(msg_id))
        || !EVP_MAC_update(ctx, (const unsigned char *)".", 1)
        || !EVP_MAC_update(ctx, (const unsigned char *)tsbuf, (size_t)tslen)
        || !EVP_MAC_update(ctx, (const unsigned char *)".", 1)
        || (bodylen && !EVP_MAC_update(ctx, (const unsigned char *)body, bodylen))
        || !EVP_MAC_final(ctx, mac, &maclen, SIGN_MAC_LEN)
        || maclen != SIGN_MAC_LEN)
        goto free_ctx;
    rc = 0;

free_ctx:
    EVP_MAC_CTX_free(ctx);
free_alg:
    EVP_MAC_free(alg);
out:
    return rc;
}

int qc_sign_v1(const unsigned char *key, size_t keylen, const char *msg_id,
               int64_t ts, const char *body, size_t bodylen,
               char out[QC_SIGN_V1_LEN])
{
    if (!out)
        return QC_ERR_INVAL;
    unsigned char mac[SIGN_MAC_LEN];
    int rc = sign_mac(key, keylen, msg_id, ts, body, bodylen, mac);
    if (rc < 0)
        return rc;
    memcpy(out, "v1,", 3);
    rc = qc_base64_encode(mac, sizeof(mac), out + 3, QC_SIGN_V1_LEN - 3);
    OPENSSL_cleanse(mac, sizeof(mac));
    return rc < 0 ? rc : 0;
}

int qc_sign_verify(const unsigned char *key, size_t keylen, const char *msg_id,
                   int64_t ts, const char *body, size_t bodylen,
                   const char *header)
{
    if (!header)
        return QC_ERR_INVAL;
    unsigned char want[SIGN_MAC_LEN];
    int rc = sign_mac(key, keylen, msg_id, ts, body, bodylen, want);
    if (rc < 0)
        return rc;

    /* Every v1 entry is compared, even after a match, so the time taken
     * depends on the header's shape only, never on which entry matched. */
    int matched = 0;
    const char *p = header;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ' ')
            end++;
        size_t toklen = (size_t)(end - p);
        if (toklen == 3 + SIGN_B64_LEN && memcmp(p, "v1,", 3) == 0) {
            unsigned char got[SIGN_MAC_LEN];
            int n = qc_base64_decode(p + 3, SIGN_B64_LEN, got, sizeof(got));
            if (n == SIGN_MAC_LEN && CRYPTO_memcmp(got, want, SIGN_MAC_LEN) == 0)
                matched = 1;
        }
        p = end;
    }
    OPENSSL_cleanse(want, sizeof(want));
    return matched ? 0 : QC_ERR_INVAL;
}
