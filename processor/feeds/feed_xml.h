/* feed_xml.h: reading untrusted XML feed documents with libxml2.
 *
 * qc_xml_parse() is the only way the feed parsers read XML. It never
 * touches the network (XML_PARSE_NONET), loads no DTD, substitutes no
 * entities, and refuses any document that has a document type declaration
 * at all: feed formats (QuakeML, CAP, ShakeAlert) are defined by XML
 * Schemas, never by DTDs, so a DOCTYPE can only be an attack (external
 * entities, "billion laughs" expansion) or a mistake. Documents over
 * QC_XML_MAX_BYTES are refused before parsing; libxml2's own limits
 * (nesting depth 256, text nodes of 10 MB; XML_PARSE_HUGE is not set) hold
 * inside. Nothing is printed: the reason goes to errstr.
 *
 * The node helpers match elements by local name and namespace URI, so the
 * prefix a producer picked ("q:", none, "ns0:") does not matter. Internal to
 * processor/feeds/. */
#ifndef QC_FEED_XML_H
#define QC_FEED_XML_H

#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>

/* The largest real document in the test data, a USGS phase-data product,
 * is 0.75 MB; a DOM costs about ten times its text. */
#define QC_XML_MAX_BYTES (16u * 1024u * 1024u)

/** Parses @p len bytes at @p buf. On success sets *out to the document
 *  (caller frees with xmlFreeDoc()) and returns 0; on failure returns
 *  QC_ERR_TOOBIG or QC_ERR_PARSE and writes the reason, prefixed with
 *  @p what ("quakeml: "...), to @p errstr. */
int qc_xml_parse(const char *buf, size_t len, const char *what, xmlDoc **out, char *errstr,
                 size_t errstr_size);

/** @returns true if @p n is an element named @p name in namespace @p ns
 *  (NULL: in no namespace). */
bool qc_xml_is(const xmlNode *n, const char *ns, const char *name);

/** @returns the first element child of @p parent named @p name in @p ns,
 *  or NULL. Valid as long as the document. */
xmlNode *qc_xml_child(const xmlNode *parent, const char *ns, const char *name);

/** @returns the next element sibling after @p n named @p name in @p ns,
 *  or NULL. */
xmlNode *qc_xml_next(const xmlNode *n, const char *ns, const char *name);

/** Copies the text of element @p n (its text and CDATA children, not those
 *  of child elements), white space trimmed at both ends, into @p buf.
 *  @returns false if @p n is NULL (buf "") or the text does not fit (buf
 *  holds a cut prefix). */
bool qc_xml_text(const xmlNode *n, char *buf, size_t size);

/** Reads the text of @p n as a finite decimal number (qc_feed_number).
 *  @returns false if @p n is NULL or its text is not one. */
bool qc_xml_number(const xmlNode *n, double *out);

/** Copies the value of attribute @p name in namespace @p ns (NULL: none) of
 *  element @p n into @p buf, trimmed. @returns false if there is no such
 *  attribute (buf "") or it does not fit. */
bool qc_xml_attr(const xmlNode *n, const char *ns, const char *name, char *buf, size_t size);

#endif
