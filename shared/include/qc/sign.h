/* sign.h: Standard Webhooks signatures (https://www.standardwebhooks.com/,
 * spec "Signature scheme"): v1 = base64(HMAC-SHA256(key, id "." ts "." body)),
 * where the key is the base64 part of a "whsec_..." secret. */
#ifndef QC_SIGN_H
#define QC_SIGN_H

#include <stddef.h>
#include <stdint.h>

/** Length of a "v1,<base64 of 32 bytes>" signature plus NUL. */
#define QC_SIGN_V1_LEN (3 + 44 + 1)

/** Decodes a "whsec_<base64>" secret (the prefix is optional) into raw key
 *  bytes. @returns the key length (> 0) or QC_ERR_INVAL. */
int qc_sign_secret_decode(const char *secret, unsigned char *key, size_t keysz);

/** Writes "v1,<base64 signature>" for message @p msg_id sent at @p ts
 *  (Unix seconds) with @p body. @returns 0 or a negative qc_err_t. */
int qc_sign_v1(const unsigned char *key, size_t keylen, const char *msg_id,
               int64_t ts, const char *body, size_t bodylen,
               char out[QC_SIGN_V1_LEN]);

/** Checks a webhook-signature header (space-separated list of "v1,..."
 *  entries, any one may match; other versions are ignored) in constant time
 *  per entry; every entry is compared, even after a match.
 *  @returns 0 if one matches, QC_ERR_INVAL otherwise (QC_ERR_NOMEM if
 *  OpenSSL could not allocate). */
int qc_sign_verify(const unsigned char *key, size_t keylen, const char *msg_id,
                   int64_t ts, const char *body, size_t bodylen,
                   const char *header);

/** Standard base64 (with padding). @returns bytes written excluding NUL, or
 *  QC_ERR_TOOBIG if @p outsz is too small. */
int qc_base64_encode(const unsigned char *in, size_t len, char *out, size_t outsz);
/** Strict: length a multiple of 4, standard alphabet only (no whitespace,
 *  no URL-safe "-_"), '=' only as the last one or two characters, and zero
 *  bits under the padding. @returns decoded length, or QC_ERR_PARSE /
 *  QC_ERR_TOOBIG. */
int qc_base64_decode(const char *in, size_t len, unsigned char *out, size_t outsz);

#endif
