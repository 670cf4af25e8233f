/* test_sign.c: Standard Webhooks signatures and strict base64. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "qc/err.h"
#include "qc/sign.h"
#include "qctest.h"

/* The vector of the spec's own libraries (standard-webhooks/standard-webhooks,
 * libraries/go/webhook_test.go TestWebhookSign and
 * libraries/python/tests/test_webhooks.py test_sign_function). */
#define SW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_MSG_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS 1614265330
#define SW_BODY "{\"test\": 2432232314}"
#define SW_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
/* A well-formed signature of something else (from the same test suites). */
#define OTHER_SIG "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="

static int sw_key(unsigned char *key, size_t keysz)
{
    return qc_sign_secret_decode(SW_SECRET, key, keysz);
}

static void test_vector(void)
{
    unsigned char key[64];
    int klen = sw_key(key, sizeof(key));
    CHECK_INT(klen, 24);

    char sig[QC_SIGN_V1_LEN];
    CHECK_INT(qc_sign_v1(key, (size_t)klen, SW_MSG_ID, SW_TS, SW_BODY,
                         strlen(SW_BODY), sig), 0);
    CHECK_STR(sig, SW_SIG);
    CHECK_INT(strlen(sig), QC_SIGN_V1_LEN - 1);

    /* the whsec_ prefix is optional */
    unsigned char key2[64];
    CHECK_INT(qc_sign_secret_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key2,
                                    sizeof(key2)), 24);
    CHECK(memcmp(key, key2, 24) == 0);
}

static void test_verify(void)
{
    unsigned char key[64];
    size_t klen = (size_t)sw_key(key, sizeof(key));
    size_t blen = strlen(SW_BODY);

    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen, SW_SIG), 0);
    /* several entries, unknown versions among them, any one may match */
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen,
                             OTHER_SIG " v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= "
                             SW_SIG " " OTHER_SIG), 0);
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen,
                             "  " SW_SIG "  "), 0);

    /* wrong signature, last byte off by one bit (the spec's own negative) */
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen,
                             "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="), QC_ERR_INVAL);
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen, OTHER_SIG),
              QC_ERR_INVAL);
    /* the right bytes under another version tag do not count */
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen,
                             "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), QC_ERR_INVAL);
    /* tampered id, timestamp, body */
    CHECK_INT(qc_sign_verify(key, klen, "msg_other", SW_TS, SW_BODY, blen, SW_SIG),
              QC_ERR_INVAL);
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS + 1, SW_BODY, blen, SW_SIG),
              QC_ERR_INVAL);
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen - 1, SW_SIG),
              QC_ERR_INVAL);
    /* wrong key */
    unsigned char key2[64];
    memcpy(key2, key, klen);
    key2[0] ^= 1;
    CHECK_INT(qc_sign_verify(key2, klen, SW_MSG_ID, SW_TS, SW_BODY, blen, SW_SIG),
              QC_ERR_INVAL);
    /* malformed headers */
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen, ""), QC_ERR_INVAL);
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen, "v1,"), QC_ERR_INVAL);
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen,
                             "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE"), QC_ERR_INVAL);
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen,
                             "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=x"), QC_ERR_INVAL);
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen,
                             "v1,g0hM9SsE-OTPJTGt_tmIKtSyZlE3uFJELVlNIOLJ1OE="), QC_ERR_INVAL);
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen,
                             "V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), QC_ERR_INVAL);
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, SW_BODY, blen, NULL), QC_ERR_INVAL);
}

static void test_sign_args(void)
{
    unsigned char key[64];
    size_t klen = (size_t)sw_key(key, sizeof(key));
    char sig[QC_SIGN_V1_LEN];

    CHECK_INT(qc_sign_v1(NULL, klen, SW_MSG_ID, SW_TS, "", 0, sig), QC_ERR_INVAL);
    CHECK_INT(qc_sign_v1(key, 0, SW_MSG_ID, SW_TS, "", 0, sig), QC_ERR_INVAL);
    CHECK_INT(qc_sign_v1(key, klen, NULL, SW_TS, "", 0, sig), QC_ERR_INVAL);
    CHECK_INT(qc_sign_v1(key, klen, SW_MSG_ID, SW_TS, NULL, 3, sig), QC_ERR_INVAL);
    /* an empty body is fine, NULL or not */
    char sig2[QC_SIGN_V1_LEN];
    CHECK_INT(qc_sign_v1(key, klen, SW_MSG_ID, SW_TS, NULL, 0, sig), 0);
    CHECK_INT(qc_sign_v1(key, klen, SW_MSG_ID, SW_TS, "", 0, sig2), 0);
    CHECK_STR(sig, sig2);
    CHECK_INT(qc_sign_verify(key, klen, SW_MSG_ID, SW_TS, NULL, 0, sig), 0);

    /* body is taken by length, not up to a NUL */
    CHECK_INT(qc_sign_v1(key, klen, SW_MSG_ID, SW_TS, SW_BODY "trailing",
                         strlen(SW_BODY), sig), 0);
    CHECK_STR(sig, SW_SIG);
}

static void test_secret_decode(void)
{
    unsigned char key[64];
    CHECK_INT(qc_sign_secret_decode("whsec_", key, sizeof(key)), QC_ERR_INVAL);
    CHECK_INT(qc_sign_secret_decode("", key, sizeof(key)), QC_ERR_INVAL);
    CHECK_INT(qc_sign_secret_decode(NULL, key, sizeof(key)), QC_ERR_INVAL);
    CHECK_INT(qc_sign_secret_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", key,
                                    sizeof(key)), QC_ERR_INVAL);
    CHECK_INT(qc_sign_secret_decode("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", key,
                                    sizeof(key)), QC_ERR_INVAL);
    CHECK_INT(qc_sign_secret_decode(" whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key,
                                    sizeof(key)), QC_ERR_INVAL);
    /* key buffer too small */
    CHECK_INT(qc_sign_secret_decode(SW_SECRET, key, 23), QC_ERR_INVAL);
    CHECK_INT(qc_sign_secret_decode(SW_SECRET, key, 24), 24);
}

static void test_base64_known(void)
{
    /* RFC 4648 section 10 */
    static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                       "Zm9vYmFy" };
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        char out[16];
        unsigned char back[16];
        size_t n = strlen(plain[i]);
        CHECK_INT(qc_base64_encode((const unsigned char *)plain[i], n, out, sizeof(out)),
                  strlen(enc[i]));
        CHECK_STR(out, enc[i]);
        CHECK_INT(qc_base64_decode(enc[i], strlen(enc[i]), back, sizeof(back)), n);
        CHECK(memcmp(back, plain[i], n) == 0);
    }
}

static void test_base64_roundtrip(void)
{
    /* every length 0..200 and every byte value, against OpenSSL's encoder */
    unsigned char in[200], back[200];
    char mine[300];
    unsigned char theirs[300];
    uint32_t x = 0x12345678u;
    for (size_t len = 0; len <= sizeof(in); len++) {
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            in[i] = (unsigned char)(len == 3 ? 0xff : (x >> 16) + i);
        }
        int n = qc_base64_encode(in, len, mine, sizeof(mine));
        int m = EVP_EncodeBlock(theirs, in, (int)len);
        CHECK_INT(n, m);
        CHECK(n >= 0 && memcmp(mine, theirs, (size_t)m) == 0);
        int d = qc_base64_decode(mine, (size_t)n, back, sizeof(back));
        CHECK_INT(d, len);
        CHECK(d >= 0 && memcmp(back, in, len) == 0);
    }
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    char enc[400];
    unsigned char dec[256];
    int n = qc_base64_encode(all, sizeof(all), enc, sizeof(enc));
    CHECK_INT(n, 344);
    CHECK_INT(qc_base64_decode(enc, (size_t)n, dec, sizeof(dec)), 256);
    CHECK(memcmp(all, dec, sizeof(all)) == 0);
}

static void test_base64_reject(void)
{
    unsigned char out[64];
    static const char *const bad[] = {
        "Zg=",       /* length not a multiple of 4 */
        "Zg",        /* unpadded */
        "Zm9vY",     /* length */
        "Z===",      /* three pad chars */
        "====",      /* only padding */
        "=Zg=",      /* padding first */
        "Zg=a",      /* data after padding */
        "Zg==Zm8=",  /* padding in the middle */
        "Zh==",      /* non-zero bits under the padding (non-canonical "f") */
        "Zm9=",      /* non-canonical "fo" */
        "Zm 9v",     /* whitespace */
        "Zm9v\n",    /* trailing newline */
        "Zm-v",      /* URL-safe alphabet */
        "Zm_v",
        "Zm9\x80",   /* high byte */
        "Zm.v",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = qc_base64_decode(bad[i], strlen(bad[i]), out, sizeof(out));
        if (rc != QC_ERR_PARSE)
            fprintf(stderr, "  accepted/odd for \"%s\": %d\n", bad[i], rc);
        CHECK_INT(rc, QC_ERR_PARSE);
    }
    /* an embedded NUL is just another invalid character */
    CHECK_INT(qc_base64_decode("Zm\0v", 4, out, sizeof(out)), QC_ERR_PARSE);

    /* output too small */
    CHECK_INT(qc_base64_decode("Zm9vYmFy", 8, out, 5), QC_ERR_TOOBIG);
    CHECK_INT(qc_base64_decode("Zm9vYmE=", 8, out, 5), 5);
    char enc[9];
    CHECK_INT(qc_base64_encode((const unsigned char *)"foobar", 6, enc, 8), QC_ERR_TOOBIG);
    CHECK_INT(qc_base64_encode((const unsigned char *)"foobar", 6, enc, 9), 8);
    CHECK_INT(qc_base64_encode(NULL, 1, enc, sizeof(enc)), QC_ERR_INVAL);
}

static void test_sign_speed(void)
{
    /* print only: the dispatcher signs every webhook delivery */
    unsigned char key[64];
    size_t klen = (size_t)sw_key(key, sizeof(key));
    char body[300];
    memset(body, 'x', sizeof(body));
    char sig[QC_SIGN_V1_LEN];
    struct timespec a, b;
    int n = 20000, ok = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++)
        ok += qc_sign_v1(key, klen, SW_MSG_ID, SW_TS + i, body, sizeof(body), sig) == 0;
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    CHECK_INT(ok, n);
    printf("  sign: %.0f signatures/s (300-byte body)\n", n / s);
}

QC_TESTS(QC_CASE(test_vector), QC_CASE(test_verify), QC_CASE(test_sign_args),
         QC_CASE(test_secret_decode), QC_CASE(test_base64_known),
         QC_CASE(test_base64_roundtrip), QC_CASE(test_base64_reject),
         QC_CASE(test_sign_speed))
