/* feed_xml.c: safe libxml2 parsing and element helpers (see feed_xml.h). */
#include "feed_xml.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>
#include <limits.h>
#include <string.h>

#include "feed_util.h"
#include "qc/err.h"

/* What the SAX hooks saw; hangs off the parser context's _private. */
typedef struct xml_guard {
    bool doctype;
} xml_guard_t;

/* Called for every <!DOCTYPE ...>, before its internal subset (where
 * entities would be declared) is read: stop there. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
                       const xmlChar *system_id)
{
    xmlParserCtxt *pctx = ctx;

    ((xml_guard_t *)pctx->_private)->doctype = true;
    xmlStopParser(pctx);
}

/* An entity declaration can only come from a DTD, which on_doctype already
 * refused; kept as a second lock. */
static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    xmlParserCtxt *pctx = ctx;

    ((xml_guard_t *)pctx->_private)->doctype = true;
    xmlStopParser(pctx);
}

/* Errors are read from the context afterwards; libxml2 must not print
 * them to stderr (a hostile client could fill the log). */
#if LIBXML_VERSION >= 21200
static void on_error(void *data, const xmlError *error)
#else
static void on_error(void *data, xmlError *error) /* 2.12 made it const */
#endif
{
}

/* Drops the trailing newline libxml2 puts on its messages. */
static int msg_len(const char *msg)
{
    size_t n = strlen(msg);

    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    return n > 200 ? 200 : (int)n;
}

int qc_xml_parse(const char *buf, size_t len, const char *what, xmlDoc **out, char *errstr,
                 size_t errstr_size)
{
    xml_guard_t guard = { .doctype = false };
    xmlParserCtxt *pctx;
    xmlDoc *doc;
    const xmlError *xe;
    int rc;

    *out = NULL;
    if (!buf || len == 0)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "%s: empty document", what);
    if (len > QC_XML_MAX_BYTES || len > (size_t)INT_MAX)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_TOOBIG, "%s: document of %zu bytes, "
                            "over the limit of %u", what, len, QC_XML_MAX_BYTES);
    pctx = xmlNewParserCtxt();
    if (!pctx)
        return qc_feed_fail(errstr, errstr_size, QC_ERR_NOMEM, "%s: out of memory", what);
    pctx->_private = &guard;
    pctx->sax->internalSubset = on_doctype;
    pctx->sax->externalSubset = on_doctype;
    pctx->sax->entityDecl = on_entity_decl;
    pctx->sax->serror = on_error;

    /* Not set, on purpose: XML_PARSE_NOENT (substitute entities),
     * XML_PARSE_DTDLOAD / DTDATTR / DTDVALID (read a DTD), XML_PARSE_XINCLUDE,
     * XML_PARSE_HUGE (lift the size and depth limits). */
    doc = xmlCtxtReadMemory(pctx, buf, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                XML_PARSE_NOCDATA);
    if (guard.doctype) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "%s: document type declarations "
                          "(DOCTYPE) are not accepted", what);
        goto out_doc;
    }
    if (!doc || !pctx->wellFormed) {
        xe = xmlCtxtGetLastError(pctx);
        if (xe && xe->message)
            rc = qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "%s: not well-formed XML: "
                              "line %d: %.*s", what, xe->line, msg_len(xe->message), xe->message);
        else
            rc = qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "%s: not well-formed XML", what);
        goto out_doc;
    }
    if (!xmlDocGetRootElement(doc)) {
        rc = qc_feed_fail(errstr, errstr_size, QC_ERR_PARSE, "%s: no root element", what);
        goto out_doc;
    }
    *out = doc;
    doc = NULL; /* owned by the caller now */
    rc = 0;

out_doc:
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(pctx);
    return rc;
}

bool qc_xml_is(const xmlNode *n, const char *ns, const char *name)
{
    if (!n || n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
        return false;
    if (!ns)
        return n->ns == NULL || n->ns->href == NULL;
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

xmlNode *qc_xml_child(const xmlNode *parent, const char *ns, const char *name)
{
    if (!parent)
        return NULL;
    for (xmlNode *c = parent->children; c; c = c->next) {
        if (qc_xml_is(c, ns, name))
            return c;
    }
    return NULL;
}

xmlNode *qc_xml_next(const xmlNode *n, const char *ns, const char *name)
{
    if (!n)
        return NULL;
    for (xmlNode *c = n->next; c; c = c->next) {
        if (qc_xml_is(c, ns, name))
            return c;
    }
    return NULL;
}

static bool is_ws(xmlChar c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copies the text nodes of the list at @p first into @p buf of @p size,
 * without the white space at either end (which does not count against the
 * size). @returns false if the text did not fit. */
static bool copy_text_nodes(const xmlNode *first, char *buf, size_t size)
{
    size_t len = 0;
    bool started = false, over = false;

    for (const xmlNode *c = first; c; c = c->next) {
        if ((c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE) || !c->content)
            continue;
        for (const xmlChar *p = c->content; *p; p++) {
            if (!started && is_ws(*p))
                continue;
            started = true;
            if (len < size - 1)
                buf[len++] = (char)*p;
            else if (!is_ws(*p))
                over = true;
        }
    }
    while (len > 0 && is_ws((xmlChar)buf[len - 1]))
        len--;
    buf[len] = '\0';
    return !over;
}

bool qc_xml_text(const xmlNode *n, char *buf, size_t size)
{
    if (size == 0)
        return false;
    buf[0] = '\0';
    return n && copy_text_nodes(n->children, buf, size);
}

bool qc_xml_number(const xmlNode *n, double *out)
{
    char tmp[64];

    return qc_xml_text(n, tmp, sizeof(tmp)) && qc_feed_number(tmp, strlen(tmp), out);
}

bool qc_xml_attr(const xmlNode *n, const char *ns, const char *name, char *buf, size_t size)
{
    if (size == 0)
        return false;
    buf[0] = '\0';
    if (!n || n->type != XML_ELEMENT_NODE)
        return false;
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        if (strcmp((const char *)a->name, name) != 0)
            continue;
        if (ns ? !(a->ns && a->ns->href && strcmp((const char *)a->ns->href, ns) == 0)
               : (a->ns != NULL))
            continue;
        return copy_text_nodes(a->children, buf, size);
    }
    return false;
}
