/*
 * kiln.h - write Kiln page renderers in C (Kiln renderer ABI v1, sdk/ABI.md).
 *
 * Single-header library. In exactly one .c file of your renderer:
 *
 *     #define KILN_IMPLEMENTATION
 *     #include "kiln.h"
 *
 *     static int render(const kiln_request *req, kiln_response *res) {
 *         kiln_puts(res, "<h1>Hello</h1>");
 *         return 0;
 *     }
 *     KILN_RENDER(render)
 *
 * and build a WASI reactor:
 *
 *     clang --target=wasm32-wasi -mexec-model=reactor -O2 -o page.wasm page.c
 *
 * Callbacks return 0 on success. To fail a render, call kiln_fail("why")
 * and return non-zero. Strings handed to you (request fields, data values,
 * list items) are NUL-terminated and also carry their length; they stay
 * valid until the callback returns (data values until you free them).
 * Allocation failure traps ("out of memory"), which fails the render.
 */
#ifndef KILN_H
#define KILN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A byte string: NUL-terminated for convenience, but may contain NULs. */
typedef struct kiln_str {
    const char *ptr;
    size_t len;
} kiln_str;

/* Why a page is being rendered (kiln_request.mode). */
enum {
    KILN_MODE_BUILD = 0,      /* prerendering during `kiln build` */
    KILN_MODE_BACKGROUND = 1, /* stale-while-revalidate or data change */
    KILN_MODE_BLOCKING = 2,   /* a visitor is waiting */
    KILN_MODE_PREVIEW = 3     /* preview: rendered fresh, never stored */
};

typedef struct kiln_param {
    kiln_str name, value;
} kiln_param;

typedef struct kiln_request {
    uint32_t mode;
    kiln_str route;          /* the route pattern, e.g. "/posts/:slug" */
    kiln_str path;           /* e.g. "/posts/hello-world"; "" in paths */
    size_t nparams;
    const kiln_param *params; /* in pattern order */
    int64_t prev_generated;   /* Unix ms of the stored page; 0 if none */
} kiln_request;

/* kiln_param_get returns the value of the named parameter, or NULL. */
const kiln_str *kiln_param_get(const kiln_request *req, const char *name);

/* ---- Response builder (kiln_render, kiln_fallback) ---- */

typedef struct kiln_response kiln_response;

void kiln_status(kiln_response *res, int status);
void kiln_header(kiln_response *res, const char *name, const char *value);
void kiln_tag(kiln_response *res, const char *tag);
void kiln_write(kiln_response *res, const void *data, size_t len);
void kiln_puts(kiln_response *res, const char *s);
/* kiln_write_html appends s with & < > " ' escaped. */
void kiln_write_html(kiln_response *res, const char *s, size_t len);
void kiln_puts_html(kiln_response *res, const char *s);
/* kiln_printf appends formatted text (links vfprintf: a few KiB). */
void kiln_printf(kiln_response *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* status is 301, 302, 303, 307 or 308 (0 means 307). */
void kiln_redirect(kiln_response *res, int status, const char *location);
void kiln_not_found(kiln_response *res);
void kiln_no_store(kiln_response *res);
/* -1 keeps the route's revalidate; 0 never stale; n > 0 seconds. */
void kiln_revalidate(kiln_response *res, int64_t seconds);

/* ---- Paths builder (kiln_paths) ---- */

typedef struct kiln_paths kiln_paths;

/* path must start with "/". */
void kiln_path(kiln_paths *out, const char *path);

/* ---- Data ---- */

/* Results of data calls. */
enum {
    KILN_OK = 0,
    KILN_MISSING = -1,     /* the key does not exist */
    KILN_UNAVAILABLE = -2  /* the data source is down: return non-zero */
};

/* A data value: NUL-terminated copy, free with kiln_value_free. */
typedef struct kiln_value {
    char *data;
    size_t len;
} kiln_value;

int kiln_get(const char *key, kiln_value *out);
int kiln_get_n(const char *key, size_t key_len, kiln_value *out);
void kiln_value_free(kiln_value *v);

/* The answers of kiln_get_many; free with kiln_values_free. */
typedef struct kiln_values {
    size_t n;
    kiln_str *values;     /* values[i] answers keys[i]; NUL-terminated */
    unsigned char *found; /* found[i] is 1 when keys[i] exists, else 0 */
    char **bufs;
    size_t nbufs;
} kiln_values;

/* KILN_GET_MANY_MAX is the most keys one host call carries; kiln_get_many
 * splits bigger batches into several calls. */
#define KILN_GET_MANY_MAX 1000

/* kiln_get_many reads n keys with one host call (data_get_many) instead of
 * n calls of kiln_get. Every key becomes a dependency of the page. Returns
 * KILN_OK or KILN_UNAVAILABLE; a missing key is found[i] == 0. */
int kiln_get_many(const char *const *keys, size_t n, kiln_values *out);
void kiln_values_free(kiln_values *v);

typedef struct kiln_item {
    kiln_str key, value;
} kiln_item;

/* One page of a prefix listing; free with kiln_page_free. */
typedef struct kiln_page {
    size_t nitems;
    kiln_item *items;
    kiln_str next; /* cursor for the next page; len 0 on the last page */
    char *buf;
} kiln_page;

/* limit 0 means 100 (the host caps it at 1000); reverse 1 is descending. */
int kiln_list(const char *prefix, size_t prefix_len, const char *cursor,
              size_t cursor_len, uint32_t limit, int reverse, kiln_page *out);
void kiln_page_free(kiln_page *p);

/* kiln_lister walks every item under a prefix, page by page:
 *
 *     kiln_lister it;
 *     kiln_item item;
 *     kiln_list_begin(&it, "post:", 0, 0);
 *     while (kiln_list_next(&it, &item)) { ... }
 *     kiln_list_end(&it);
 *     if (it.status == KILN_UNAVAILABLE) return 1;
 */
typedef struct kiln_lister {
    const char *prefix;
    size_t prefix_len;
    uint32_t limit;
    int reverse;
    int status; /* KILN_OK or KILN_UNAVAILABLE */
    int done;
    size_t pos;
    kiln_page page;
} kiln_lister;

void kiln_list_begin(kiln_lister *it, const char *prefix, uint32_t limit, int reverse);
/* kiln_list_next returns 1 and fills item, or 0 at the end or on error. */
int kiln_list_next(kiln_lister *it, kiln_item *item);
void kiln_list_end(kiln_lister *it);

/* ---- Logging and failure ---- */

enum { KILN_DEBUG = 0, KILN_INFO = 1, KILN_WARN = 2, KILN_ERROR = 3 };

void kiln_log(int level, const char *msg);
/* kiln_fail sets the failure message; then return non-zero. */
void kiln_fail(const char *msg);

/* ---- Exports ---- */

typedef int (*kiln_render_fn)(const kiln_request *req, kiln_response *res);
typedef int (*kiln_paths_fn)(const kiln_request *req, kiln_paths *out);

int32_t kiln__render(int32_t req_len, kiln_render_fn fn);
int32_t kiln__paths(int32_t req_len, kiln_paths_fn fn);

#define KILN__EXPORT(name) \
    __attribute__((export_name(#name))) int32_t kiln__export_##name(int32_t req_len)

/* KILN_RENDER(fn) exports fn as the page renderer (required). */
#define KILN_RENDER(fn) \
    KILN__EXPORT(kiln_render) { return kiln__render(req_len, fn); }
/* KILN_PATHS(fn) exports fn as the build-time path list (optional). */
#define KILN_PATHS(fn) \
    KILN__EXPORT(kiln_paths) { return kiln__paths(req_len, fn); }
/* KILN_FALLBACK(fn) exports fn as the fallback shell renderer (optional). */
#define KILN_FALLBACK(fn) \
    KILN__EXPORT(kiln_fallback) { return kiln__render(req_len, fn); }

#ifdef __cplusplus
}
#endif
#endif /* KILN_H */

/* ======================================================================= */

#ifdef KILN_IMPLEMENTATION
#ifndef KILN_IMPLEMENTATION_DONE
#define KILN_IMPLEMENTATION_DONE

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KILN__IMPORT(name) __attribute__((import_module("kiln"), import_name(#name)))

KILN__IMPORT(request) void kiln__h_request(void *ptr);
KILN__IMPORT(response) void kiln__h_response(const void *ptr, int32_t len);
KILN__IMPORT(fail) void kiln__h_fail(const void *ptr, int32_t len);
KILN__IMPORT(data_get) int32_t kiln__h_data_get(const void *key, int32_t len);
KILN__IMPORT(data_list) int32_t kiln__h_data_list(const void *prefix, int32_t prefix_len,
                                                  const void *cursor, int32_t cursor_len,
                                                  int32_t limit, int32_t reverse);
/* Optional in the ABI: wasm-ld drops it from a module that never calls
 * kiln_get_many, so such a module still loads on older engines. */
KILN__IMPORT(data_get_many) int32_t kiln__h_data_get_many(const void *keys, int32_t len);
KILN__IMPORT(result) void kiln__h_result(void *ptr);
KILN__IMPORT(log) void kiln__h_log(int32_t level, const void *ptr, int32_t len);

/* The version marker: its name is the contract; it is never called. */
__attribute__((export_name("kiln_abi_version_1"))) void kiln_abi_version_1(void) {}

/* ---- growable byte buffer ---- */

/* Body bytes start at KILN__HEAD so the response header can usually be
 * written in front of them and the whole answer sent without a copy. */
#define KILN__HEAD 1024

typedef struct kiln__buf {
    uint8_t *p;
    size_t len, cap;
} kiln__buf;

static void *kiln__alloc(void *old, size_t n) {
    void *p = realloc(old, n ? n : 1);
    if (!p) __builtin_trap(); /* out of memory fails the render */
    return p;
}

static void kiln__reserve(kiln__buf *b, size_t extra) {
    if (b->cap - b->len >= extra) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra) cap *= 2;
    b->p = (uint8_t *)kiln__alloc(b->p, cap);
    b->cap = cap;
}

static void kiln__put(kiln__buf *b, const void *data, size_t len) {
    kiln__reserve(b, len);
    if (len) memcpy(b->p + b->len, data, len);
    b->len += len;
}

static void kiln__put_u32(kiln__buf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    kiln__put(b, x, 4);
}

static void kiln__put_i64(kiln__buf *b, int64_t v) {
    kiln__put_u32(b, (uint32_t)(uint64_t)v);
    kiln__put_u32(b, (uint32_t)((uint64_t)v >> 32));
}

static void kiln__put_str(kiln__buf *b, const char *s, size_t len) {
    kiln__put_u32(b, (uint32_t)len);
    kiln__put(b, s, len);
}

/* ---- decoding (request, list page) ---- */

/* A decoder over a buffer. Strings are NUL-terminated in place: every str
 * in a request or list page is followed by at least one more byte (the
 * next field, or the spare byte the SDK allocates after a list page), and
 * that byte has already been read into the decoder when we overwrite it. */
typedef struct kiln__dec {
    uint8_t *p;
    size_t len, off;
    int bad;
} kiln__dec;

static uint32_t kiln__get_u32(kiln__dec *d) {
    if (d->bad || d->len - d->off < 4) { d->bad = 1; return 0; }
    const uint8_t *x = d->p + d->off;
    d->off += 4;
    return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

static int64_t kiln__get_i64(kiln__dec *d) {
    uint64_t lo = kiln__get_u32(d);
    uint64_t hi = kiln__get_u32(d);
    return (int64_t)(lo | hi << 32);
}

/* kiln__get_str records where the string is; kiln__terminate adds NULs. */
static kiln_str kiln__get_str(kiln__dec *d) {
    kiln_str s = {"", 0};
    uint32_t n = kiln__get_u32(d);
    if (d->bad || d->len - d->off < n) { d->bad = 1; return s; }
    s.ptr = (const char *)d->p + d->off;
    s.len = n;
    d->off += n;
    return s;
}

static void kiln__terminate(kiln_str *s) {
    if (s->len) ((char *)s->ptr)[s->len] = 0;
    else s->ptr = "";
}

/* ---- request ---- */

static struct {
    kiln__buf raw;
    kiln_param *params;
    size_t cap;
    int unavailable; /* a data call this render answered -2 */
} kiln__st;

const kiln_str *kiln_param_get(const kiln_request *req, const char *name) {
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nparams; i++) {
        const kiln_str *k = &req->params[i].name;
        if (k->len == n && memcmp(k->ptr, name, n) == 0) return &req->params[i].value;
    }
    return NULL;
}

static int kiln__decode_params(kiln__dec *d, kiln_request *req) {
    uint32_t n = kiln__get_u32(d);
    if (d->bad || n > (d->len - d->off) / 8) return -1; /* each param >= 8 bytes */
    if (n > kiln__st.cap) {
        kiln__st.params = (kiln_param *)kiln__alloc(kiln__st.params, n * sizeof(kiln_param));
        kiln__st.cap = n;
    }
    for (uint32_t i = 0; i < n; i++) {
        kiln__st.params[i].name = kiln__get_str(d);
        kiln__st.params[i].value = kiln__get_str(d);
    }
    req->nparams = n;
    req->params = kiln__st.params;
    return d->bad ? -1 : 0;
}

static int kiln__read_request(int32_t req_len, kiln_request *req) {
    kiln__st.unavailable = 0;
    kiln__st.raw.len = 0;
    if (req_len < 0) return -1;
    kiln__reserve(&kiln__st.raw, (size_t)req_len);
    if (req_len > 0) kiln__h_request(kiln__st.raw.p);
    kiln__dec d = {kiln__st.raw.p, (size_t)req_len, 0, 0};
    memset(req, 0, sizeof *req);
    req->mode = kiln__get_u32(&d);
    req->route = kiln__get_str(&d);
    req->path = kiln__get_str(&d);
    if (kiln__decode_params(&d, req) != 0) return -1;
    req->prev_generated = kiln__get_i64(&d);
    if (d.bad || d.off != d.len) return -1;
    kiln__terminate(&req->route);
    kiln__terminate(&req->path);
    for (size_t i = 0; i < req->nparams; i++) {
        kiln__terminate(&kiln__st.params[i].name);
        kiln__terminate(&kiln__st.params[i].value);
    }
    return 0;
}

static void kiln__fail_n(const char *msg, size_t len) { kiln__h_fail(msg, (int32_t)len); }

void kiln_fail(const char *msg) { kiln__fail_n(msg, strlen(msg)); }

void kiln_log(int level, const char *msg) { kiln__h_log(level, msg, (int32_t)strlen(msg)); }

static int32_t kiln__bad_request(void) {
    kiln_fail("kiln: malformed request");
    return 1;
}

/* kiln__finish turns a callback's return code into the export's result. */
static int32_t kiln__finish(int rc) {
    if (rc != 0) return rc;
    if (kiln__st.unavailable) {
        kiln_fail("kiln: data source unavailable");
        return 1;
    }
    return 0;
}

/* ---- response ---- */

struct kiln_response {
    uint32_t status, flags;
    int64_t revalidate;
    const char *redirect;
    uint32_t nheaders, ntags;
    kiln__buf headers, tags, body; /* body bytes start at KILN__HEAD */
};

#define KILN__NOT_FOUND 1u
#define KILN__NO_STORE 2u

static kiln_response kiln__res;

static void kiln__reset(kiln_response *r) {
    r->status = r->flags = r->nheaders = r->ntags = 0;
    r->revalidate = -1;
    r->redirect = "";
    r->headers.len = r->tags.len = 0;
    r->body.len = 0;
    kiln__reserve(&r->body, KILN__HEAD);
    r->body.len = KILN__HEAD;
}

void kiln_status(kiln_response *res, int status) { res->status = (uint32_t)status; }
void kiln_not_found(kiln_response *res) { res->flags |= KILN__NOT_FOUND; }
void kiln_no_store(kiln_response *res) { res->flags |= KILN__NO_STORE; }
void kiln_revalidate(kiln_response *res, int64_t s) { res->revalidate = s; }

void kiln_redirect(kiln_response *res, int status, const char *location) {
    res->status = (uint32_t)status;
    res->redirect = location;
}

void kiln_header(kiln_response *res, const char *name, const char *value) {
    kiln__put_str(&res->headers, name, strlen(name));
    kiln__put_str(&res->headers, value, strlen(value));
    res->nheaders++;
}

void kiln_tag(kiln_response *res, const char *tag) {
    kiln__put_str(&res->tags, tag, strlen(tag));
    res->ntags++;
}

void kiln_write(kiln_response *res, const void *data, size_t len) {
    kiln__put(&res->body, data, len);
}

void kiln_puts(kiln_response *res, const char *s) { kiln_write(res, s, strlen(s)); }

void kiln_write_html(kiln_response *res, const char *s, size_t len) {
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&#34;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        kiln_write(res, s + start, i - start);
        kiln_puts(res, rep);
        start = i + 1;
    }
    kiln_write(res, s + start, len - start);
}

void kiln_puts_html(kiln_response *res, const char *s) { kiln_write_html(res, s, strlen(s)); }

void kiln_printf(kiln_response *res, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    kiln__reserve(&res->body, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf((char *)res->body.p + res->body.len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    res->body.len += (size_t)n;
}

/* kiln__send encodes the response (sdk/ABI.md §5.3) in front of the body
 * when it fits in the reserved head room, else into a fresh buffer. */
static void kiln__send(kiln_response *r) {
    static kiln__buf h;
    h.len = 0;
    kiln__put_u32(&h, r->status);
    kiln__put_u32(&h, r->flags);
    kiln__put_i64(&h, r->revalidate);
    kiln__put_str(&h, r->redirect, strlen(r->redirect));
    kiln__put_u32(&h, r->nheaders);
    kiln__put(&h, r->headers.p, r->headers.len);
    kiln__put_u32(&h, r->ntags);
    kiln__put(&h, r->tags.p, r->tags.len);
    size_t body = r->body.len - KILN__HEAD;
    kiln__put_u32(&h, (uint32_t)body);
    if (h.len <= KILN__HEAD) {
        uint8_t *start = r->body.p + KILN__HEAD - h.len;
        memcpy(start, h.p, h.len);
        kiln__h_response(start, (int32_t)(h.len + body));
    } else {
        kiln__put(&h, r->body.p + KILN__HEAD, body);
        kiln__h_response(h.p, (int32_t)h.len);
    }
}

int32_t kiln__render(int32_t req_len, kiln_render_fn fn) {
    kiln_request req;
    if (kiln__read_request(req_len, &req) != 0) return kiln__bad_request();
    kiln__reset(&kiln__res);
    int32_t rc = kiln__finish(fn(&req, &kiln__res));
    if (rc == 0) kiln__send(&kiln__res);
    return rc;
}

/* ---- paths ---- */

struct kiln_paths {
    uint32_t n;
    kiln__buf buf;
};

void kiln_path(kiln_paths *out, const char *path) {
    kiln__put_str(&out->buf, path, strlen(path));
    out->n++;
}

int32_t kiln__paths(int32_t req_len, kiln_paths_fn fn) {
    kiln_request req;
    if (kiln__read_request(req_len, &req) != 0) return kiln__bad_request();
    kiln_paths out = {0, {0}};
    kiln__put_u32(&out.buf, 0); /* count, patched below */
    int32_t rc = kiln__finish(fn(&req, &out));
    if (rc == 0) {
        uint32_t n = out.n;
        uint8_t x[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
        memcpy(out.buf.p, x, 4);
        kiln__h_response(out.buf.p, (int32_t)out.buf.len);
    }
    free(out.buf.p);
    return rc;
}

/* ---- data ---- */

/* kiln__fetch copies the pending result into a fresh buffer with one
 * spare byte (for a terminating NUL). */
static char *kiln__fetch(int32_t n) {
    char *p = (char *)kiln__alloc(NULL, (size_t)n + 1);
    if (n > 0) kiln__h_result(p);
    p[n] = 0;
    return p;
}

/* kiln__status maps a negative data answer; anything but -1 counts as
 * unavailable, and fails the render even if the callback ignores it. */
static int kiln__status(int32_t n) {
    if (n == -1) return KILN_MISSING;
    kiln__st.unavailable = 1;
    return KILN_UNAVAILABLE;
}

int kiln_get_n(const char *key, size_t key_len, kiln_value *out) {
    out->data = NULL;
    out->len = 0;
    int32_t n = kiln__h_data_get(key, (int32_t)key_len);
    if (n < 0) return kiln__status(n);
    out->data = kiln__fetch(n);
    out->len = (size_t)n;
    return KILN_OK;
}

int kiln_get(const char *key, kiln_value *out) { return kiln_get_n(key, strlen(key), out); }

void kiln_value_free(kiln_value *v) {
    free(v->data);
    v->data = NULL;
    v->len = 0;
}

/* kiln__decode_values decodes a Values list of n entries into out from
 * index at, pointing into buf (len bytes plus a spare one). */
static int kiln__decode_values(char *buf, size_t len, size_t n, kiln_values *out, size_t at) {
    kiln__dec d = {(uint8_t *)buf, len, 0, 0};
    if (kiln__get_u32(&d) != n || d.bad) return -1;
    for (size_t i = at; i < at + n; i++) {
        uint32_t found = kiln__get_u32(&d);
        out->values[i] = kiln__get_str(&d);
        if (found > 1 || (found == 0 && out->values[i].len > 0)) return -1;
        out->found[i] = (unsigned char)found;
    }
    if (d.bad || d.off != d.len) return -1;
    for (size_t i = at; i < at + n; i++) kiln__terminate(&out->values[i]);
    return 0;
}

/* kiln__get_batch sends keys [at, at+n) as one data_get_many call. */
static int kiln__get_batch(const char *const *keys, size_t at, size_t n, kiln_values *out) {
    kiln__buf req = {0};
    kiln__put_u32(&req, (uint32_t)n);
    for (size_t i = at; i < at + n; i++) kiln__put_str(&req, keys[i], strlen(keys[i]));
    int32_t len = kiln__h_data_get_many(req.p, (int32_t)req.len);
    free(req.p);
    if (len < 0) return kiln__status(len == -1 ? -2 : len); /* -1 is not a batch answer */
    char *buf = kiln__fetch(len);
    out->bufs[out->nbufs++] = buf;
    if (kiln__decode_values(buf, (size_t)len, n, out, at) != 0) __builtin_trap(); /* host bug */
    return KILN_OK;
}

int kiln_get_many(const char *const *keys, size_t n, kiln_values *out) {
    memset(out, 0, sizeof *out);
    out->n = n;
    out->values = (kiln_str *)kiln__alloc(NULL, n * sizeof(kiln_str));
    out->found = (unsigned char *)kiln__alloc(NULL, n);
    out->bufs = (char **)kiln__alloc(NULL, (n / KILN_GET_MANY_MAX + 1) * sizeof(char *));
    for (size_t at = 0; at < n; at += KILN_GET_MANY_MAX) {
        size_t batch = n - at < KILN_GET_MANY_MAX ? n - at : KILN_GET_MANY_MAX;
        int rc = kiln__get_batch(keys, at, batch, out);
        if (rc != KILN_OK) {
            kiln_values_free(out);
            return rc;
        }
    }
    return KILN_OK;
}

void kiln_values_free(kiln_values *v) {
    for (size_t i = 0; i < v->nbufs; i++) free(v->bufs[i]);
    free(v->bufs);
    free(v->values);
    free(v->found);
    memset(v, 0, sizeof *v);
}

static int kiln__decode_page(kiln_page *p, size_t len) {
    kiln__dec d = {(uint8_t *)p->buf, len, 0, 0};
    uint32_t n = kiln__get_u32(&d);
    if (d.bad || n > (len - d.off) / 8) return -1; /* each item >= 8 bytes */
    p->items = (kiln_item *)kiln__alloc(NULL, n * sizeof(kiln_item));
    for (uint32_t i = 0; i < n; i++) {
        p->items[i].key = kiln__get_str(&d);
        p->items[i].value = kiln__get_str(&d);
    }
    p->nitems = n;
    p->next = kiln__get_str(&d);
    if (d.bad || d.off != d.len) return -1;
    for (uint32_t i = 0; i < n; i++) {
        kiln__terminate(&p->items[i].key);
        kiln__terminate(&p->items[i].value);
    }
    kiln__terminate(&p->next); /* the spare byte after the page */
    return 0;
}

int kiln_list(const char *prefix, size_t prefix_len, const char *cursor, size_t cursor_len,
              uint32_t limit, int reverse, kiln_page *out) {
    memset(out, 0, sizeof *out);
    int32_t n = kiln__h_data_list(prefix, (int32_t)prefix_len, cursor, (int32_t)cursor_len,
                                  (int32_t)limit, reverse ? 1 : 0);
    if (n < 0) return kiln__status(n == -1 ? -2 : n); /* -1 is not a list answer */
    out->buf = kiln__fetch(n);
    if (kiln__decode_page(out, (size_t)n) != 0) __builtin_trap(); /* host bug */
    return KILN_OK;
}

void kiln_page_free(kiln_page *p) {
    free(p->items);
    free(p->buf);
    memset(p, 0, sizeof *p);
}

void kiln_list_begin(kiln_lister *it, const char *prefix, uint32_t limit, int reverse) {
    memset(it, 0, sizeof *it);
    it->prefix = prefix;
    it->prefix_len = strlen(prefix);
    it->limit = limit;
    it->reverse = reverse;
    it->status = kiln_list(prefix, it->prefix_len, "", 0, limit, reverse, &it->page);
    it->done = it->status != KILN_OK;
}

int kiln_list_next(kiln_lister *it, kiln_item *item) {
    while (!it->done && it->pos == it->page.nitems) {
        if (it->page.next.len == 0) { it->done = 1; break; }
        kiln_page next;
        it->status = kiln_list(it->prefix, it->prefix_len, it->page.next.ptr,
                               it->page.next.len, it->limit, it->reverse, &next);
        kiln_page_free(&it->page);
        it->page = next;
        it->pos = 0;
        it->done = it->status != KILN_OK;
    }
    if (it->done) return 0;
    *item = it->page.items[it->pos++];
    return 1;
}

void kiln_list_end(kiln_lister *it) { kiln_page_free(&it->page); }

#endif /* KILN_IMPLEMENTATION_DONE */
#endif /* KILN_IMPLEMENTATION */
