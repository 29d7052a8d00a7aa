/* A blog post page: route "/posts/:slug" reads the JSON document at
 * "post:<slug>" ({"title": ..., "body": ...}) and renders it as HTML.
 *
 *   clang --target=wasm32-wasi -mexec-model=reactor -O2 -s -o post.wasm main.c
 */
#define KILN_IMPLEMENTATION
#include "../kiln.h"
#define KILN_JSON_IMPLEMENTATION
#include "../kiln_json.h"

#include <stdlib.h>
#include <string.h>

/* post_key writes "post:<slug>" into a fresh buffer. */
static char *post_key(const kiln_str *slug) {
    char *key = malloc(slug->len + 6);
    if (!key) __builtin_trap();
    memcpy(key, "post:", 5);
    memcpy(key + 5, slug->ptr, slug->len + 1);
    return key;
}

typedef struct {
    char *title, *body;
    size_t title_len, body_len;
} post_fields;

static void page(kiln_response *res, const post_fields *p, const kiln_value *css) {
    kiln_puts(res, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>");
    kiln_write_html(res, p->title, p->title_len);
    kiln_puts(res, "</title>");
    if (css->data) {
        kiln_puts(res, "<link rel=\"stylesheet\" href=\"");
        kiln_write_html(res, css->data, css->len);
        kiln_puts(res, "\">");
    }
    kiln_puts(res, "</head>\n<body><article><h1>");
    kiln_write_html(res, p->title, p->title_len);
    kiln_puts(res, "</h1><p>");
    kiln_write_html(res, p->body, p->body_len);
    kiln_puts(res, "</p></article></body></html>\n");
}

static int render_post(const char *key, const kiln_value *post, kiln_response *res) {
    post_fields p = {0};
    if (kiln_json_string(post->data, post->len, "title", &p.title, &p.title_len) != KILN_JSON_OK ||
        kiln_json_string(post->data, post->len, "body", &p.body, &p.body_len) != KILN_JSON_OK) {
        free(p.title);
        kiln_log(KILN_ERROR, key);
        kiln_fail("post: want a JSON object with string title and body");
        return 1;
    }
    kiln_value css;
    int rc = kiln_get("kiln:asset:style.css", &css);
    if (rc != KILN_UNAVAILABLE) {
        kiln_tag(res, key);
        kiln_tag(res, "posts");
        page(res, &p, &css);
        kiln_value_free(&css);
    }
    free(p.title);
    free(p.body);
    return rc == KILN_UNAVAILABLE;
}

static int render(const kiln_request *req, kiln_response *res) {
    const kiln_str *slug = kiln_param_get(req, "slug");
    if (!slug) {
        kiln_not_found(res);
        return 0;
    }
    char *key = post_key(slug);
    kiln_value post;
    int rc = kiln_get(key, &post);
    if (rc == KILN_OK) rc = render_post(key, &post, res);
    else if (rc == KILN_MISSING) rc = 0, kiln_not_found(res);
    kiln_value_free(&post);
    free(key);
    return rc != 0;
}

/* paths prerenders every post: "/posts/<slug>" for each key "post:<slug>". */
static int paths(const kiln_request *req, kiln_paths *out) {
    (void)req;
    kiln_lister it;
    kiln_item item;
    kiln_list_begin(&it, "post:", 0, 0);
    while (kiln_list_next(&it, &item)) {
        char *path = malloc(item.key.len + 3);
        if (!path) __builtin_trap();
        memcpy(path, "/posts/", 7);
        memcpy(path + 7, item.key.ptr + 5, item.key.len - 5 + 1);
        kiln_path(out, path);
        free(path);
    }
    kiln_list_end(&it);
    return it.status != KILN_OK;
}

static int fallback(const kiln_request *req, kiln_response *res) {
    (void)req;
    kiln_puts(res, "<!doctype html>\n<p>Loading\xe2\x80\xa6</p>\n");
    return 0;
}

KILN_RENDER(render)
KILN_PATHS(paths)
KILN_FALLBACK(fallback)
