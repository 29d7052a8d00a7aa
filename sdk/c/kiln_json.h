/*
 * kiln_json.h - read string and number fields of a JSON object, enough for
 * a renderer whose data values are JSON documents such as
 * {"title": "Hello", "body": "...", "views": 12}.
 *
 * Single-header: define KILN_JSON_IMPLEMENTATION in one .c file before
 * including it. It validates the whole document (RFC 8259) while looking
 * for the field, so a malformed value is reported, not half-read.
 *
 *     char *title; size_t n;
 *     if (kiln_json_string(v.data, v.len, "title", &title, &n) == KILN_JSON_OK) {
 *         ...; free(title);
 *     }
 */
#ifndef KILN_JSON_H
#define KILN_JSON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    KILN_JSON_OK = 0,
    KILN_JSON_MISSING = -1,   /* no such field, or not of the asked type */
    KILN_JSON_MALFORMED = -2  /* not a JSON object */
};

/* kiln_json_string decodes the string field `field` of the top-level
 * object into a malloc'd, NUL-terminated UTF-8 copy (free it). */
int kiln_json_string(const char *json, size_t len, const char *field, char **out, size_t *out_len);

/* kiln_json_number reads the number field `field` of the top-level object. */
int kiln_json_number(const char *json, size_t len, const char *field, double *out);

#ifdef __cplusplus
}
#endif
#endif /* KILN_JSON_H */

#ifdef KILN_JSON_IMPLEMENTATION
#ifndef KILN_JSON_IMPLEMENTATION_DONE
#define KILN_JSON_IMPLEMENTATION_DONE

#include <stdlib.h>
#include <string.h>

#define KILN_JSON__MAX_DEPTH 64

typedef struct {
    const char *s;
    size_t len, pos;
    /* When dst is set, kiln_json__str also decodes into it. */
    char *dst;
    size_t dst_len;
} kiln_json__p;

static void kiln_json__ws(kiln_json__p *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
        p->pos++;
    }
}

static int kiln_json__eat(kiln_json__p *p, char c) {
    kiln_json__ws(p);
    if (p->pos < p->len && p->s[p->pos] == c) {
        p->pos++;
        return 1;
    }
    return 0;
}

static int kiln_json__hex4(kiln_json__p *p, unsigned *v) {
    if (p->len - p->pos < 4) return 0;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos++];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                   : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16u;
        if (d == 16) return 0;
        *v = *v << 4 | d;
    }
    return 1;
}

static void kiln_json__emit(kiln_json__p *p, const char *b, size_t n) {
    if (!p->dst) return;
    memcpy(p->dst + p->dst_len, b, n);
    p->dst_len += n;
}

static void kiln_json__emit_rune(kiln_json__p *p, unsigned r) {
    char b[4];
    size_t n;
    if (r < 0x80) { b[0] = (char)r; n = 1; }
    else if (r < 0x800) { b[0] = (char)(0xc0 | r >> 6); b[1] = (char)(0x80 | (r & 0x3f)); n = 2; }
    else if (r < 0x10000) {
        b[0] = (char)(0xe0 | r >> 12); b[1] = (char)(0x80 | (r >> 6 & 0x3f));
        b[2] = (char)(0x80 | (r & 0x3f)); n = 3;
    } else {
        b[0] = (char)(0xf0 | r >> 18); b[1] = (char)(0x80 | (r >> 12 & 0x3f));
        b[2] = (char)(0x80 | (r >> 6 & 0x3f)); b[3] = (char)(0x80 | (r & 0x3f)); n = 4;
    }
    kiln_json__emit(p, b, n);
}

/* kiln_json__unicode decodes \uXXXX (after the 'u'), joining surrogate
 * pairs; a lone surrogate becomes U+FFFD. */
static int kiln_json__unicode(kiln_json__p *p) {
    unsigned r, lo;
    if (!kiln_json__hex4(p, &r)) return 0;
    if (r >= 0xd800 && r < 0xdc00 && p->len - p->pos >= 6 && p->s[p->pos] == '\\' &&
        p->s[p->pos + 1] == 'u') {
        size_t save = p->pos;
        p->pos += 2;
        if (!kiln_json__hex4(p, &lo)) return 0;
        if (lo >= 0xdc00 && lo < 0xe000) r = 0x10000 + ((r - 0xd800) << 10) + (lo - 0xdc00);
        else p->pos = save;
    }
    if (r >= 0xd800 && r < 0xe000) r = 0xfffd;
    kiln_json__emit_rune(p, r);
    return 1;
}

static int kiln_json__escape(kiln_json__p *p) {
    if (p->pos >= p->len) return 0;
    char c = p->s[p->pos++];
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *at = c ? strchr(from, c) : NULL;
    if (at) {
        kiln_json__emit(p, to + (at - from), 1);
        return 1;
    }
    return c == 'u' && kiln_json__unicode(p);
}

/* kiln_json__str parses a string (at its opening quote). */
static int kiln_json__str(kiln_json__p *p) {
    if (!kiln_json__eat(p, '"')) return 0;
    while (p->pos < p->len) {
        unsigned char c = (unsigned char)p->s[p->pos++];
        if (c == '"') return 1;
        if (c < 0x20) return 0;
        if (c != '\\') kiln_json__emit(p, (const char *)&c, 1);
        else if (!kiln_json__escape(p)) return 0;
    }
    return 0;
}

static size_t kiln_json__digits(kiln_json__p *p) {
    size_t start = p->pos;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    return p->pos - start;
}

static int kiln_json__num(kiln_json__p *p) {
    kiln_json__ws(p);
    if (p->pos < p->len && p->s[p->pos] == '-') p->pos++;
    size_t start = p->pos;
    size_t n = kiln_json__digits(p);
    if (n == 0 || (n > 1 && p->s[start] == '0')) return 0;
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        if (kiln_json__digits(p) == 0) return 0;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
        if (kiln_json__digits(p) == 0) return 0;
    }
    return 1;
}

static int kiln_json__lit(kiln_json__p *p, const char *lit) {
    size_t n = strlen(lit);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, lit, n) != 0) return 0;
    p->pos += n;
    return 1;
}

static int kiln_json__value(kiln_json__p *p, int depth);

/* kiln_json__items parses the inside of an object or array, up to close. */
static int kiln_json__items(kiln_json__p *p, char close, int object, int depth) {
    if (kiln_json__eat(p, close)) return 1;
    do {
        if (object && !(kiln_json__str(p) && kiln_json__eat(p, ':'))) return 0;
        if (!kiln_json__value(p, depth)) return 0;
    } while (kiln_json__eat(p, ','));
    return kiln_json__eat(p, close);
}

static int kiln_json__value(kiln_json__p *p, int depth) {
    kiln_json__ws(p);
    if (p->pos >= p->len || depth > KILN_JSON__MAX_DEPTH) return 0;
    switch (p->s[p->pos]) {
    case '"': return kiln_json__str(p);
    case '{': p->pos++; return kiln_json__items(p, '}', 1, depth + 1);
    case '[': p->pos++; return kiln_json__items(p, ']', 0, depth + 1);
    case 't': return kiln_json__lit(p, "true");
    case 'f': return kiln_json__lit(p, "false");
    case 'n': return kiln_json__lit(p, "null");
    default: return kiln_json__num(p);
    }
}

/* kiln_json__find validates the object and sets *at to the position of
 * the first value whose key is field (or len when there is none). */
static int kiln_json__find(const char *json, size_t len, const char *field, size_t *at) {
    kiln_json__p p = {json, len, 0, NULL, 0};
    size_t flen = strlen(field);
    char *key = (char *)malloc(len + 1);
    if (!key) __builtin_trap();
    int ok = kiln_json__eat(&p, '{');
    *at = len;
    if (ok && !kiln_json__eat(&p, '}')) {
        do {
            p.dst = key;
            p.dst_len = 0;
            ok = kiln_json__str(&p) && kiln_json__eat(&p, ':');
            p.dst = NULL;
            kiln_json__ws(&p);
            if (ok && *at == len && p.dst_len == flen && memcmp(key, field, flen) == 0) *at = p.pos;
        } while (ok && (ok = kiln_json__value(&p, 1)) && kiln_json__eat(&p, ','));
        ok = ok && kiln_json__eat(&p, '}');
    }
    free(key);
    kiln_json__ws(&p);
    return ok && p.pos == len ? KILN_JSON_OK : KILN_JSON_MALFORMED;
}

int kiln_json_string(const char *json, size_t len, const char *field, char **out, size_t *out_len) {
    size_t at;
    *out = NULL;
    *out_len = 0;
    int rc = kiln_json__find(json, len, field, &at);
    if (rc != KILN_JSON_OK) return rc;
    if (at == len || json[at] != '"') return KILN_JSON_MISSING;
    char *dst = (char *)malloc(len + 1); /* decoding never grows a string */
    if (!dst) __builtin_trap();
    kiln_json__p p = {json, len, at, dst, 0};
    kiln_json__str(&p);
    dst[p.dst_len] = 0;
    *out = dst;
    *out_len = p.dst_len;
    return KILN_JSON_OK;
}

int kiln_json_number(const char *json, size_t len, const char *field, double *out) {
    size_t at;
    *out = 0;
    int rc = kiln_json__find(json, len, field, &at);
    if (rc != KILN_JSON_OK) return rc;
    if (at == len || !(json[at] == '-' || (json[at] >= '0' && json[at] <= '9'))) return KILN_JSON_MISSING;
    kiln_json__p p = {json, len, at, NULL, 0};
    kiln_json__num(&p);
    char buf[64];
    size_t n = p.pos - at;
    if (n >= sizeof buf) n = sizeof buf - 1; /* such long numbers lose digits anyway */
    memcpy(buf, json + at, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    return KILN_JSON_OK;
}

#endif /* KILN_JSON_IMPLEMENTATION_DONE */
#endif /* KILN_JSON_IMPLEMENTATION */
