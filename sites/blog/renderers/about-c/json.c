/* json.c - see json.h. Grammar: RFC 8259; nesting is limited to 64. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct cur {
    const char *p, *end;
} cur;

static void ws(cur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int eat(cur *c, char ch) {
    ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int hex4(const char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char h = p[i];
        v <<= 4;
        if (h >= '0' && h <= '9') v |= (unsigned)(h - '0');
        else if (h >= 'a' && h <= 'f') v |= (unsigned)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F') v |= (unsigned)(h - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

/* skip_string moves past a string starting at '"', checking escapes. */
static int skip_string(cur *c) {
    unsigned u;
    if (c->p >= c->end || *c->p != '"') return 0;
    for (c->p++; c->p < c->end; c->p++) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            c->p++;
            return 1;
        }
        if (ch < 0x20) return 0;
        if (ch != '\\') continue;
        if (++c->p >= c->end) return 0;
        if (*c->p == 'u') {
            if (c->end - c->p < 5 || !hex4(c->p + 1, &u)) return 0;
            c->p += 4;
        } else if (!strchr("\"\\/bfnrt", *c->p) || *c->p == 0) {
            return 0;
        }
    }
    return 0;
}

static int digits(cur *c) {
    const char *s = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    return c->p > s;
}

static int skip_number(cur *c) {
    if (c->p < c->end && *c->p == '-') c->p++;
    if (c->p < c->end && *c->p == '0') c->p++;
    else if (!digits(c)) return 0;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!digits(c)) return 0;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
        if (!digits(c)) return 0;
    }
    return 1;
}

static int skip_word(cur *c, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
    c->p += n;
    return 1;
}

static int skip_value(cur *c, int depth);

/* skip_members moves past the rest of an object or array after its
 * opening bracket. */
static int skip_members(cur *c, char close, int depth) {
    if (eat(c, close)) return 1;
    do {
        if (close == '}') {
            ws(c);
            if (!skip_string(c) || !eat(c, ':')) return 0;
        }
        if (!skip_value(c, depth)) return 0;
    } while (eat(c, ','));
    return eat(c, close);
}

static int skip_value(cur *c, int depth) {
    ws(c);
    if (c->p >= c->end || depth > MAX_DEPTH) return 0;
    switch (*c->p) {
    case '"': return skip_string(c);
    case '{': c->p++; return skip_members(c, '}', depth + 1);
    case '[': c->p++; return skip_members(c, ']', depth + 1);
    case 't': return skip_word(c, "true");
    case 'f': return skip_word(c, "false");
    case 'n': return skip_word(c, "null");
    }
    return skip_number(c);
}

/* value reads one value at c into *out. */
static int value(cur *c, json_span *out) {
    ws(c);
    const char *start = c->p;
    if (!skip_value(c, 0)) return 0;
    out->ptr = start;
    out->len = (size_t)(c->p - start);
    return 1;
}

/* key_equals compares a raw string with key, decoding its escapes. */
static int key_equals(json_span raw, const char *key) {
    char *s;
    size_t n;
    if (json_string(raw, &s, &n) != JSON_OK) return 0;
    int eq = n == strlen(key) && memcmp(s, key, n) == 0;
    free(s);
    return eq;
}

int json_member(json_span doc, const char *key, json_span *out) {
    cur c = {doc.ptr, doc.ptr + doc.len};
    json_span k, v;
    int found = 0;
    if (!eat(&c, '{')) return JSON_MALFORMED;
    if (!eat(&c, '}')) {
        do {
            ws(&c);
            if (!value(&c, &k) || k.ptr[0] != '"' || !eat(&c, ':') || !value(&c, &v)) return JSON_MALFORMED;
            if (!found && key_equals(k, key)) {
                *out = v;
                found = 1;
            }
        } while (eat(&c, ','));
        if (!eat(&c, '}')) return JSON_MALFORMED;
    }
    ws(&c);
    if (c.p != c.end) return JSON_MALFORMED;
    return found ? JSON_OK : JSON_MISSING;
}

int json_array_begin(json_span arr, json_iter *it) {
    cur c = {arr.ptr, arr.ptr + arr.len};
    cur check = c;
    if (!skip_value(&check, 0)) return JSON_MALFORMED;
    ws(&check);
    if (check.p != check.end || !eat(&c, '[')) return JSON_MALFORMED;
    it->p = c.p;
    it->end = c.end;
    it->first = 1;
    return JSON_OK;
}

int json_array_next(json_iter *it, json_span *out) {
    cur c = {it->p, it->end};
    if (eat(&c, ']')) return JSON_MISSING;
    if (!it->first && !eat(&c, ',')) return JSON_MALFORMED;
    if (!value(&c, out)) return JSON_MALFORMED;
    it->first = 0;
    it->p = c.p;
    return JSON_OK;
}

static size_t put_utf8(char *dst, unsigned cp) {
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xC0 | cp >> 6);
        dst[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xE0 | cp >> 12);
        dst[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        dst[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | cp >> 18);
    dst[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    dst[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    dst[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* unicode decodes \uXXXX (p at 'u'), joining a surrogate pair; a lone
 * surrogate becomes U+FFFD. It returns the code point, moving *p past it. */
static unsigned unicode(const char **p, const char *end) {
    unsigned hi, lo;
    hex4(*p + 1, &hi);
    *p += 4;
    if (hi < 0xD800 || hi > 0xDFFF) return hi;
    if (hi <= 0xDBFF && end - *p >= 7 && (*p)[1] == '\\' && (*p)[2] == 'u' &&
        hex4(*p + 3, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
        *p += 6;
        return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    }
    return 0xFFFD;
}

static char unescape(char e) {
    switch (e) {
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    }
    return e; /* " \ / */
}

int json_string(json_span v, char **out, size_t *out_len) {
    cur c = {v.ptr, v.ptr + v.len};
    if (!skip_string(&c) || c.p != c.end) return JSON_MALFORMED;
    /* Decoding never grows a string: \uXXXX (6 bytes) is at most 3 bytes
     * of UTF-8, a surrogate pair (12) is 4. */
    char *s = malloc(v.len), *d = s;
    if (!s) return JSON_MALFORMED;
    for (const char *p = v.ptr + 1; p < v.ptr + v.len - 1; p++) {
        if (*p != '\\') {
            *d++ = *p;
        } else if (*++p == 'u') {
            d += put_utf8(d, unicode(&p, v.ptr + v.len - 1));
        } else {
            *d++ = unescape(*p);
        }
    }
    *d = 0;
    *out = s;
    *out_len = (size_t)(d - s);
    return JSON_OK;
}
