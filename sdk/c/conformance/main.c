/* The C conformance renderer: behaves exactly as
 * sdk/testdata/conformance/SPEC.md says, so the shared vectors can check
 * that the C SDK encodes byte-identical answers to every other SDK. */
#define KILN_IMPLEMENTATION
#include "../kiln.h"

#include <inttypes.h>
#include <string.h>

static int is(const kiln_request *req, const char *path) {
    return strcmp(req->path.ptr, path) == 0;
}

static int has_prefix(const kiln_request *req, const char *prefix) {
    return strncmp(req->path.ptr, prefix, strlen(prefix)) == 0;
}

static kiln_str param(const kiln_request *req, const char *name) {
    const kiln_str *v = kiln_param_get(req, name);
    kiln_str empty = {"", 0};
    return v ? *v : empty;
}

static int get(const kiln_request *req, kiln_response *res) {
    kiln_str key = param(req, "key");
    kiln_value v;
    switch (kiln_get_n(key.ptr, key.len, &v)) {
    case KILN_OK:
        kiln_puts(res, "found:");
        kiln_write(res, v.data, v.len);
        kiln_value_free(&v);
        return 0;
    case KILN_MISSING:
        kiln_puts(res, "missing:");
        kiln_write(res, key.ptr, key.len);
        return 0;
    default:
        kiln_fail("unavailable");
        return 1;
    }
}

/* many splits param "keys" at "," (in place: the request buffer is the
 * SDK's and lives until the render returns). */
static int many(const kiln_request *req, kiln_response *res) {
    kiln_str param_keys = param(req, "keys");
    char *s = (char *)param_keys.ptr;
    const char *keys[64];
    size_t n = 0;
    for (char *k = s;; k++) {
        if (*k != ',' && *k != 0) continue;
        int end = *k == 0;
        *k = 0;
        if (n < 64) keys[n++] = s;
        s = k + 1;
        if (end) break;
    }
    kiln_values v;
    if (kiln_get_many(keys, n, &v) != KILN_OK) {
        kiln_fail("unavailable");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        kiln_puts(res, keys[i]);
        if (v.found[i]) {
            kiln_puts(res, "=");
            kiln_write(res, v.values[i].ptr, v.values[i].len);
            kiln_puts(res, "\n");
        } else {
            kiln_puts(res, " missing\n");
        }
    }
    kiln_values_free(&v);
    return 0;
}

static int list(const kiln_request *req, kiln_response *res, uint32_t limit, int reverse) {
    kiln_str prefix = param(req, "prefix");
    kiln_page page;
    const char *cursor = "";
    size_t cursor_len = 0;
    kiln_page prev = {0};
    for (;;) {
        if (kiln_list(prefix.ptr, prefix.len, cursor, cursor_len, limit, reverse, &page) != KILN_OK) {
            kiln_page_free(&prev);
            kiln_fail("unavailable");
            return 1;
        }
        kiln_page_free(&prev);
        for (size_t i = 0; i < page.nitems; i++) {
            kiln_write(res, page.items[i].key.ptr, page.items[i].key.len);
            kiln_puts(res, "=");
            kiln_write(res, page.items[i].value.ptr, page.items[i].value.len);
            kiln_puts(res, "\n");
        }
        kiln_puts(res, "--\n");
        if (page.next.len == 0) break;
        cursor = page.next.ptr;
        cursor_len = page.next.len;
        prev = page;
    }
    kiln_page_free(&page);
    return 0;
}

static void echo(const kiln_request *req, kiln_response *res) {
    kiln_revalidate(res, 60);
    kiln_printf(res, "mode=%" PRIu32 "\nroute=", req->mode);
    kiln_write(res, req->route.ptr, req->route.len);
    kiln_puts(res, "\npath=");
    kiln_write(res, req->path.ptr, req->path.len);
    kiln_puts(res, "\nparams=");
    for (size_t i = 0; i < req->nparams; i++) {
        if (i > 0) kiln_puts(res, ",");
        kiln_write(res, req->params[i].name.ptr, req->params[i].name.len);
        kiln_puts(res, "=");
        kiln_write(res, req->params[i].value.ptr, req->params[i].value.len);
    }
    kiln_printf(res, "\nprev=%" PRId64 "\n", req->prev_generated);
}

static void large(kiln_response *res) {
    for (int i = 0; i < 65536; i++) kiln_write(res, "0123456789abcdef", 16);
}

static int render(const kiln_request *req, kiln_response *res) {
    if (has_prefix(req, "/get/")) return get(req, res);
    if (has_prefix(req, "/many/")) return many(req, res);
    if (has_prefix(req, "/list/")) return list(req, res, 2, 0);
    if (has_prefix(req, "/rlist/")) return list(req, res, 3, 1);
    if (is(req, "/unicode")) {
        kiln_header(res, "Content-Type", "text/plain; charset=utf-8");
        kiln_puts(res, "h\xc3\xa9llo, w\xc3\xb6rld \xe2\x80\x94 \xe2\x9c\x93 "
                       "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x8e\x89");
    } else if (is(req, "/empty")) {
    } else if (is(req, "/large")) {
        large(res);
    } else if (is(req, "/redirect")) {
        kiln_redirect(res, 308, "/target");
    } else if (is(req, "/headers")) {
        kiln_header(res, "Content-Type", "application/json");
        kiln_header(res, "X-Custom", "a b");
        kiln_header(res, "X-Unicode", "\xc3\xbc");
        kiln_puts(res, "{\"ok\":true}");
    } else if (is(req, "/tags")) {
        kiln_tag(res, "post");
        kiln_tag(res, "post:hello");
        kiln_tag(res, "home");
        kiln_puts(res, "tagged");
    } else if (is(req, "/echo")) {
        echo(req, res);
    } else if (is(req, "/nostore")) {
        kiln_no_store(res);
        kiln_puts(res, "private");
    } else if (is(req, "/fail")) {
        kiln_fail("conformance failure");
        return 1;
    } else if (is(req, "/log")) {
        kiln_log(KILN_INFO, "hello from conformance");
        kiln_puts(res, "logged");
    } else {
        kiln_not_found(res); /* "/notfound" and anything else */
    }
    return 0;
}

static int paths(const kiln_request *req, kiln_paths *out) {
    (void)req;
    kiln_path(out, "/unicode");
    kiln_path(out, "/empty");
    kiln_path(out, "/echo");
    return 0;
}

static int fallback(const kiln_request *req, kiln_response *res) {
    (void)req;
    kiln_puts(res, "<p>loading</p>");
    return 0;
}

KILN_RENDER(render)
KILN_PATHS(paths)
KILN_FALLBACK(fallback)
