/* mime.h: what the fake SMTP server reads from a mail (see mime.c). */
#ifndef SINK_MIME_H
#define SINK_MIME_H

#include <stddef.h>
#include <stdint.h>

/** @returns the unfolded, trimmed value of the first header @p name in the
 *  header block [h, h+hlen) (malloc'd, caller frees), or NULL. */
char *sink_mime_header(const char *h, size_t hlen, const char *name);

/** @returns the text mail @p msg is keyed on (malloc'd, NUL-terminated,
 *  caller frees; *tlen = its length): the first text/plain part,
 *  transfer-decoded, CRLF turned into LF, trailing white space removed;
 *  without one, the first part, or the body. NULL only when out of memory. */
char *sink_mime_text(const char *msg, size_t len, size_t *tlen);

/** @returns the Message-ID header's value (malloc'd, caller frees) or NULL. */
char *sink_mime_message_id(const char *msg, size_t len);

#endif
