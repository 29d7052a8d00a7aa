/*
 * post.c - a blog post at /posts/:slug, the C twin of the Go renderer
 * ../post: it reads the JSON value under "post:<slug>" through the host's
 * data API (so the page depends on it), tags the page "post" and
 * "post:<slug>", and writes the same HTML as the Go page (the layout of
 * sites/blog/internal/layout/templates/{base,post}.html, escaped the way
 * html/template escapes it). A missing post, or a slug that could never
 * exist, is the site's 404.
 *
 * The Markdown body is converted by md.c, which handles only a subset of
 * Markdown (paragraphs, "#" headings, "- " lists; see md.h): what
 * sites/blog/cmd/genposts writes. For such posts the page is byte-for-byte
 * the Go renderer's; other Markdown shows as escaped text.
 *
 * Its paths export prerenders nothing unless the environment variable
 * PRERENDER says how many of the newest posts to build (a number, or "all"),
 * as the Go renderer's does; set it in site.hcl with
 * `env = { PRERENDER = "all" }`. The Go renderer prerenders the two newest by
 * default; this twin's default stays "none", as post-c.hcl documents.
 *
 * Build (the engine runs this from post-c.hcl when post.wasm is stale):
 *
 *     clang --target=wasm32-wasi -mexec-model=reactor -O2 -I../../../../sdk/c \
 *           -o post.wasm post.c md.c ../about-c/json.c
 */
#define KILN_IMPLEMENTATION
#include "kiln.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../about-c/json.h"
#include "md.h"

/* A string that may hold NULs: p is NUL-terminated, n is its length. */
typedef struct str {
    char *p;
    size_t n;
} str;

typedef struct post {
    str slug, title, date, excerpt, cover, author, picture, content;
} post;

static void post_free(post *p) {
    str *f[] = {&p->slug, &p->title, &p->date, &p->excerpt, &p->cover, &p->author, &p->picture, &p->content};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) free(f[i]->p);
}

/* empty sets *s to a fresh "" (NULL if memory ran out). */
static str *empty(str *s) {
    s->p = calloc(1, 1);
    s->n = 0;
    return s;
}

/* ---- validation, as sites/blog/internal/post ---- */

/* utf8 decodes the rune at s[0:n] into *r and returns its length; an
 * invalid sequence is U+FFFD of length 1, like Go's utf8.DecodeRune. */
static size_t utf8(const unsigned char *s, size_t n, unsigned *r) {
    unsigned c = s[0], min, v;
    size_t len;
    *r = 0xFFFD;
    if (c < 0x80) return *r = c, 1;
    if (c >= 0xC2 && c < 0xE0) len = 2, min = 0x80, v = c & 0x1F;
    else if (c >= 0xE0 && c < 0xF0) len = 3, min = 0x800, v = c & 0x0F;
    else if (c >= 0xF0 && c < 0xF5) len = 4, min = 0x10000, v = c & 0x07;
    else return 1;
    if (n < len) return 1;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 1;
        v = v << 6 | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 1;
    *r = v;
    return len;
}

/* go_space is Go's unicode.IsSpace. */
static int go_space(unsigned r) {
    switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
        return 1;
    }
    return r >= 0x2000 && r <= 0x200A;
}

/* valid_slug is post.ValidSlug: one URL path segment. */
static int valid_slug(const char *s, size_t n) {
    if (n == 0 || n > 200 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < n;) {
        unsigned r;
        i += utf8((const unsigned char *)s + i, n - i, &r);
        if (r == '/' || r == '\\' || r == '?' || r == '#' || r == '%' || go_space(r) ||
            r < 0x20 || (r >= 0x7F && r < 0xA0) || r == 0xFFFD)
            return 0;
    }
    return 1;
}

/* blank_text is strings.TrimSpace(s) == "". */
static int blank_text(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned r;
        i += utf8((const unsigned char *)s + i, n - i, &r);
        if (!go_space(r)) return 0;
    }
    return 1;
}

/* ---- the date: RFC 3339 or YYYY-MM-DD, shown in UTC ---- */

typedef struct date {
    long long year;
    int month, day, hour, min, sec;
} date;

static int num(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

static int leap(long long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(long long y, int m) {
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* days_from_civil counts days since 1970-01-01 (H. Hinnant's algorithm). */
static long long days_from_civil(long long y, int m, int d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long long z, date *t) {
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    t->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    t->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    t->year = yoe + era * 400 + (t->month <= 2);
}

/* parse_date is post.ParseDate: an RFC 3339 timestamp (fraction dropped)
 * or a bare date, converted to UTC. */
static int parse_date(const char *s, size_t n, date *t) {
    int y, off = 0, oh, om;
    memset(t, 0, sizeof *t);
    if (n < 10 || !num(s, 4, &y) || s[4] != '-' || !num(s + 5, 2, &t->month) || s[7] != '-' ||
        !num(s + 8, 2, &t->day))
        return 0;
    t->year = y;
    if (t->month < 1 || t->month > 12 || t->day < 1 || t->day > month_days(y, t->month)) return 0;
    if (n == 10) return 1;
    if (n < 20 || s[10] != 'T' || !num(s + 11, 2, &t->hour) || s[13] != ':' ||
        !num(s + 14, 2, &t->min) || s[16] != ':' || !num(s + 17, 2, &t->sec) ||
        t->hour > 23 || t->min > 59 || t->sec > 59)
        return 0;
    const char *z = s + 19, *end = s + n; /* s[n] is NUL */
    if (*z == '.' || *z == ',') {
        if (z[1] < '0' || z[1] > '9') return 0;
        for (z++; *z >= '0' && *z <= '9'; z++) {}
    }
    if (end - z == 1 && *z == 'Z') off = 0;
    else if ((z[0] == '+' || z[0] == '-') && end - z == 6 && num(z + 1, 2, &oh) && z[3] == ':' &&
             num(z + 4, 2, &om) && oh < 24 && om < 60)
        off = (z[0] == '-' ? -1 : 1) * (oh * 60 + om);
    else
        return 0;
    long long secs = (days_from_civil(t->year, t->month, t->day) * 24 + t->hour) * 3600 +
                     t->min * 60 + t->sec - (long long)off * 60;
    long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    long long rem = secs - days * 86400;
    civil_from_days(days, t);
    t->hour = (int)(rem / 3600);
    t->min = (int)(rem / 60 % 60);
    t->sec = (int)(rem % 60);
    return 1;
}

/* ---- reading the post ---- */

/* field decodes the string member key of doc into *out: "" when it is
 * missing or null (as encoding/json leaves a string), -1 for any other
 * type. */
static int field(json_span doc, const char *key, str *out) {
    json_span v;
    int rc = json_member(doc, key, &v);
    if (rc == JSON_MALFORMED) return -1;
    if (rc == JSON_MISSING || (v.len == 4 && memcmp(v.ptr, "null", 4) == 0))
        return empty(out)->p ? 0 : -1;
    return json_string(v, &out->p, &out->n) == JSON_OK ? 0 : -1;
}

/* parse_post is post.Decode, except that keys match exactly (Go's
 * encoding/json ignores case) and a repeated key's first value wins (Go's
 * last). It returns NULL or why the post is invalid. */
static const char *parse_post(const char *value, size_t len, post *p, date *d) {
    json_span doc = {value, len}, author;
    memset(p, 0, sizeof *p);
    if (field(doc, "slug", &p->slug) || field(doc, "title", &p->title) || field(doc, "date", &p->date) ||
        field(doc, "excerpt", &p->excerpt) || field(doc, "coverImage", &p->cover) ||
        field(doc, "content", &p->content))
        return "not a post JSON object";
    /* author: {"name", "picture"} or a bare name */
    int rc = json_member(doc, "author", &author);
    if (rc == JSON_OK && author.ptr[0] == '"') {
        if (json_string(author, &p->author.p, &p->author.n) != JSON_OK) return "bad author";
        empty(&p->picture);
    } else if (rc == JSON_OK && author.ptr[0] == '{') {
        if (field(author, "name", &p->author) || field(author, "picture", &p->picture))
            return "bad author";
    } else if (rc == JSON_MISSING || (rc == JSON_OK && author.len == 4 && memcmp(author.ptr, "null", 4) == 0)) {
        empty(&p->author);
        empty(&p->picture);
    } else {
        return "bad author";
    }
    if (!p->author.p || !p->picture.p) return "out of memory";
    if (!parse_date(p->date.p, p->date.n, d)) return "date is not RFC 3339 or YYYY-MM-DD";
    if (!valid_slug(p->slug.p, p->slug.n)) return "bad slug";
    if (blank_text(p->title.p, p->title.n)) return "no title";
    return NULL;
}

/* ---- writing, escaped as html/template escapes ---- */

/* esc writes s as html/template's htmlEscaper does (text and attributes). */
static void esc(kiln_response *res, const char *s, size_t n) {
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&#34;"; break;
        case '\'': rep = "&#39;"; break;
        case '+': rep = "&#43;"; break;
        case 0: rep = "\xEF\xBF\xBD"; break;
        default: continue;
        }
        kiln_write(res, s + start, i - start);
        kiln_puts(res, rep);
        start = i + 1;
    }
    kiln_write(res, s + start, n - start);
}

static void escs(kiln_response *res, str s) { esc(res, s.p, s.n); }

static int hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* safe_url is html/template's isSafeURL: relative, or http(s)/mailto. */
static int safe_url(const char *s, size_t len) {
    const char *colon = memchr(s, ':', len);
    if (!colon || memchr(s, '/', (size_t)(colon - s))) return 1;
    size_t n = (size_t)(colon - s);
    return (n == 4 && strncasecmp(s, "http", 4) == 0) || (n == 5 && strncasecmp(s, "https", 5) == 0) ||
           (n == 6 && strncasecmp(s, "mailto", 6) == 0);
}

/* url writes a URL attribute value as html/template does: filtered,
 * normalized (percent-encoding what a URL may not hold), then escaped. */
static void url(kiln_response *res, str u) {
    static const char digits[] = "0123456789abcdef";
    const char *s = u.p;
    size_t n = u.n;
    if (!safe_url(s, n)) s = "#ZgotmplZ", n = 9;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            (c && strchr("!#$&*+,/:;=?@[]-._~", c)) ||
            (c == '%' && i + 2 < n && hex(s[i + 1]) && hex(s[i + 2]))) {
            esc(res, s + i, 1);
            continue;
        }
        char pct[3] = {'%', digits[c >> 4], digits[c & 15]};
        kiln_write(res, pct, 3);
    }
}

/* asset returns the public URL of a static file (kiln:asset:NAME, the
 * host's content-hashed URL, as the Go SDK's kiln.Asset reads it), or ""
 * if there is none. The C SDK has no helper for it. NULL: unavailable. */
static int asset(const char *name, size_t n, str *out) {
    kiln_value v;
    char *key = malloc(n + 11);
    if (!key) return -1;
    memcpy(key, "kiln:asset:", 11);
    memcpy(key + 11, name, n);
    int rc = kiln_get_n(key, n + 11, &v);
    free(key);
    if (rc == KILN_UNAVAILABLE) return -1;
    if (rc == KILN_MISSING) return empty(out)->p ? 0 : -1;
    out->p = v.data; /* NUL-terminated, ours to free */
    out->n = v.len;
    return 0;
}

/* image_url is layout.imageURL: absolute URLs kept, names resolved. */
static int image_url(str ref, str *out) {
    if (ref.n == 0) return empty(out)->p ? 0 : -1;
    if (strncmp(ref.p, "https://", 8) == 0 || strncmp(ref.p, "http://", 7) == 0 || ref.p[0] == '/') {
        *out = ref;
        out->p = malloc(ref.n + 1);
        if (out->p) memcpy(out->p, ref.p, ref.n + 1);
        return out->p ? 0 : -1;
    }
    return asset(ref.p, ref.n, out);
}

static void md_write(void *ctx, const char *p, size_t n) { kiln_write((kiln_response *)ctx, p, n); }

static const char *const months[] = {"January", "February", "March",     "April",   "May",      "June",
                                     "July",    "August",   "September", "October", "November", "December"};

static int page(kiln_response *res, const post *p, const date *d, const str urls[4]) {
    str favicon = urls[0], style = urls[1], picture = urls[2], cover = urls[3];
    kiln_puts(res, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    escs(res, p->title);
    kiln_puts(res, " | Kiln Blog</title>\n");
    if (p->excerpt.n) {
        kiln_puts(res, "<meta name=\"description\" content=\"");
        escs(res, p->excerpt);
        kiln_puts(res, "\">\n");
    }
    kiln_puts(res, "<link rel=\"icon\" href=\"");
    url(res, favicon);
    kiln_puts(res, "\" type=\"image/svg+xml\">\n<link rel=\"stylesheet\" href=\"");
    url(res, style);
    kiln_puts(res, "\">\n</head>\n<body>\n<a class=\"skip-link\" href=\"#main\">Skip to content</a>\n"
                   "<header class=\"site-header\">\n  <div class=\"container\">\n"
                   "    <p class=\"site-title site-title--small\"><a href=\"/\">Blog.</a></p>\n"
                   "  </div>\n</header>\n<main id=\"main\" class=\"container\">\n"
                   "<article class=\"post\" aria-labelledby=\"post-title\">\n"
                   "  <header class=\"post-header\">\n    <h1 id=\"post-title\" class=\"post-title\">");
    escs(res, p->title);
    kiln_puts(res, "</h1>\n    <p class=\"byline\">");
    if (picture.n) {
        kiln_puts(res, "<img class=\"avatar\" src=\"");
        url(res, picture);
        kiln_puts(res, "\" alt=\"\" width=\"48\" height=\"48\">");
    }
    kiln_puts(res, "<span class=\"author\">");
    escs(res, p->author);
    kiln_puts(res, "</span></p>\n    <div class=\"post-cover\">");
    if (cover.n) {
        kiln_puts(res, "<img class=\"cover\" src=\"");
        url(res, cover);
        kiln_puts(res, "\" alt=\"Cover image for ");
        escs(res, p->title);
        kiln_puts(res, "\" width=\"1200\" height=\"630\">");
    }
    kiln_printf(res, "</div>\n    <p class=\"meta\"><time datetime=\"%04lld-%02d-%02dT%02d:%02d:%02dZ\">%s %d, %lld</time></p>\n"
                     "  </header>\n  <div class=\"prose\">\n",
                d->year, d->month, d->day, d->hour, d->min, d->sec, months[d->month - 1], d->day, d->year);
    if (md_to_html(p->content.p, p->content.n, md_write, res)) return -1;
    kiln_puts(res, "\n  </div>\n</article>\n"
                   "<nav class=\"post-nav\" aria-label=\"Blog\"><a href=\"/\">&larr; Back to all stories</a></nav>\n"
                   "</main>\n<footer class=\"site-footer\">\n  <div class=\"container\">\n"
                   "    <p>Statically generated by Kiln: pages are stored after the first render and "
                   "regenerated in the background when they go stale or their data changes.</p>\n"
                   "  </div>\n</footer>\n</body>\n</html>\n");
    return 0;
}

static int render(const kiln_request *req, kiln_response *res) {
    static const kiln_str none = {"", 0};
    const kiln_str *slug = kiln_param_get(req, "slug");
    if (!slug) slug = &none;
    char *key = malloc(slug->len + 6);
    if (!key) return kiln_fail("out of memory"), 1;
    memcpy(key, "post:", 5);
    memcpy(key + 5, slug->ptr, slug->len + 1);
    kiln_tag(res, "post");
    kiln_tag(res, key);

    kiln_value v = {0};
    int rc = valid_slug(slug->ptr, slug->len) ? kiln_get_n(key, slug->len + 5, &v) : KILN_MISSING;
    if (rc == KILN_MISSING) {
        free(key);
        kiln_not_found(res);
        return 0;
    }
    char msg[300];
    if (rc != KILN_OK) {
        snprintf(msg, sizeof msg, "read %.250s: data source unavailable", key);
        free(key);
        kiln_fail(msg);
        return 1;
    }
    post p;
    date d;
    const char *bad = parse_post(v.data, v.len, &p, &d), *fail = NULL;
    kiln_value_free(&v);
    str urls[4] = {{0}};
    if (bad) {
        snprintf(msg, sizeof msg, "read %.200s: post: invalid: %s", key, bad);
        fail = msg;
    } else if (asset("favicon.svg", 11, &urls[0]) || asset("style.css", 9, &urls[1]) ||
               image_url(p.picture, &urls[2]) || image_url(p.cover, &urls[3])) {
        fail = "render post: read kiln:asset: data source unavailable";
    } else if (page(res, &p, &d, urls)) {
        fail = "render post: out of memory";
    }
    if (fail) kiln_fail(fail);
    for (int i = 0; i < 4; i++) free(urls[i].p);
    post_free(&p);
    free(key);
    return fail != NULL;
}

/* ---- build-time paths ---- */

/* The date index, as sites/blog/internal/post writes it:
 * "bydate:" + a 20-byte UTC date ("2006-01-02T15:04:05Z") + ":" + slug. */
#define INDEX_PREFIX "bydate:"
#define INDEX_SLUG_AT (sizeof INDEX_PREFIX - 1 + 20 + 1)

/* paths names /posts/<slug> for the PRERENDER newest posts of the date
 * index, newest first ("all": every one), as post.NewestSlugs and
 * post.AllSlugs read it: index entries that do not parse are skipped, and
 * the engine drops repeated paths. Unlike post.NewestSlugs it does not read
 * the posts to skip an entry whose post is gone: that path builds the 404. */
static int paths(const kiln_request *req, kiln_paths *out) {
    (void)req;
    const char *env = getenv("PRERENDER");
    long want = -1;
    if (!env || !*env) return 0;
    if (strcmp(env, "all") != 0) {
        char *end;
        want = strtol(env, &end, 10);
        if (*end || want < 0 || end == env) {
            char msg[120];
            snprintf(msg, sizeof msg, "PRERENDER = \"%.60s\": want a number of posts or \"all\"", env);
            kiln_fail(msg);
            return 1;
        }
    }
    kiln_lister it;
    kiln_item item;
    char path[sizeof "/posts/" + 200];
    long n = 0;
    kiln_list_begin(&it, INDEX_PREFIX, 1000, 1);
    while ((want < 0 || n < want) && kiln_list_next(&it, &item)) {
        const char *k = item.key.ptr;
        if (item.key.len <= INDEX_SLUG_AT || k[INDEX_SLUG_AT - 1] != ':') continue;
        const char *slug = k + INDEX_SLUG_AT;
        size_t len = item.key.len - INDEX_SLUG_AT;
        if (!valid_slug(slug, len)) continue;
        memcpy(path, "/posts/", 7);
        memcpy(path + 7, slug, len + 1);
        kiln_path(out, path);
        n++;
    }
    kiln_list_end(&it);
    if (it.status == KILN_UNAVAILABLE) {
        kiln_fail("list " INDEX_PREFIX ": data source unavailable");
        return 1;
    }
    return 0;
}

KILN_RENDER(render)
KILN_PATHS(paths)
