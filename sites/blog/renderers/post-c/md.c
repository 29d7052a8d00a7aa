/* md.c - see md.h: a Markdown subset, line by line, streaming. */
#include "md.h"

#include <stdlib.h>
#include <string.h>

typedef struct md {
    md_write_fn write;
    void *ctx;
    int in_par, in_list; /* an open <p>, an open <ul><li> */
    char **ids;          /* heading ids used so far */
    size_t nids, cap;
} md;

static void put(md *m, const char *s, size_t n) {
    if (n) m->write(m->ctx, s, n);
}

static void puts_(md *m, const char *s) { put(m, s, strlen(s)); }

/* text writes s escaped as goldmark escapes text. */
static void text(md *m, const char *s, size_t n) {
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case 0: rep = "\xEF\xBF\xBD"; break;
        default: continue;
        }
        put(m, s + start, i - start);
        puts_(m, rep);
        start = i + 1;
    }
    put(m, s + start, n - start);
}

static int blank(char c) { return c == ' ' || c == '\t'; }

/* space is goldmark's util.IsSpace. */
static int space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static void trim(const char **s, size_t *n, int (*is)(char)) {
    while (*n && is(**s)) (*s)++, (*n)--;
    while (*n && is((*s)[*n - 1])) (*n)--;
}

static void close_blocks(md *m) {
    if (m->in_par) puts_(m, "</p>\n");
    if (m->in_list) puts_(m, "</li>\n</ul>\n");
    m->in_par = m->in_list = 0;
}

/* utf8_len is goldmark's util.UTF8Len: 99 skips the rest. */
static size_t utf8_len(unsigned char c) {
    if (c < 0x80) return 1;
    if (c >= 0xC0 && c < 0xE0) return 2;
    if (c >= 0xE0 && c < 0xF0) return 3;
    if (c >= 0xF0 && c < 0xF8) return 4;
    return 99;
}

static int used(const md *m, const char *id) {
    for (size_t i = 0; i < m->nids; i++)
        if (strcmp(m->ids[i], id) == 0) return 1;
    return 0;
}

static int remember(md *m, char *id) {
    if (m->nids == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        char **ids = realloc(m->ids, cap * sizeof *ids);
        if (!ids) return -1;
        m->ids = ids;
        m->cap = cap;
    }
    m->ids[m->nids++] = id;
    return 0;
}

/* heading_id returns goldmark's auto heading id for s (malloc'd and kept
 * in m->ids), or NULL if memory ran out. */
static const char *heading_id(md *m, const char *s, size_t n) {
    trim(&s, &n, space);
    /* id, then "-" and up to 20 digits, then NUL */
    char *id = malloc(n + 32), *d = id;
    if (!id) return NULL;
    for (size_t i = 0; i < n; i += utf8_len((unsigned char)s[i])) {
        char c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) *d++ = c;
        else if (c >= 'A' && c <= 'Z') *d++ = (char)(c - 'A' + 'a');
        else if (space(c) || c == '-' || c == '_') *d++ = '-';
    }
    if (d == id) {
        memcpy(id, "heading", 7);
        d = id + 7;
    }
    *d = 0;
    size_t base = (size_t)(d - id);
    for (unsigned long k = 1; used(m, id); k++) {
        char num[24], *q = num + sizeof num;
        *--q = 0;
        for (unsigned long v = k; v; v /= 10) *--q = (char)('0' + v % 10);
        id[base] = '-';
        strcpy(id + base + 1, q);
    }
    if (remember(m, id)) {
        free(id);
        return NULL;
    }
    return id;
}

/* heading handles an ATX heading line (leading blanks stripped); it
 * returns 1 if it was one, 0 if not, -1 if memory ran out. */
static int heading(md *m, const char *s, size_t n) {
    size_t level = 0;
    while (level < n && level < 7 && s[level] == '#') level++;
    if (level == 0 || level > 6 || (level < n && !blank(s[level]))) return 0;
    s += level;
    n -= level;
    trim(&s, &n, blank);
    size_t i = n; /* an optional closing run of '#' */
    while (i && s[i - 1] == '#') i--;
    if (i == 0 || blank(s[i - 1])) {
        n = i;
        trim(&s, &n, blank);
    }
    close_blocks(m);
    const char *id = heading_id(m, s, n);
    if (!id) return -1;
    char open[] = "<h0 id=\"", close[] = "</h0>\n";
    open[2] = close[3] = (char)('0' + level);
    puts_(m, open);
    puts_(m, id); /* [a-z0-9-] only */
    puts_(m, "\">");
    text(m, s, n);
    puts_(m, close);
    return 1;
}

/* line handles one line, without its line ending. */
static int line(md *m, const char *s, size_t n) {
    trim(&s, &n, blank);
    if (n == 0) {
        close_blocks(m);
        return 0;
    }
    int rc = heading(m, s, n);
    if (rc) return rc < 0 ? -1 : 0;
    if (n >= 2 && s[0] == '-' && blank(s[1])) {
        s += 2;
        n -= 2;
        trim(&s, &n, blank);
        if (n) { /* "- " alone is text */
            if (m->in_par) puts_(m, "</p>\n");
            m->in_par = 0;
            puts_(m, m->in_list ? "</li>\n<li>" : "<ul>\n<li>");
            m->in_list = 1;
            text(m, s, n);
            return 0;
        }
        s -= 2;
        n += 2;
    }
    if (m->in_par || m->in_list) puts_(m, "\n"); /* continuation */
    else {
        puts_(m, "<p>");
        m->in_par = 1;
    }
    text(m, s, n);
    return 0;
}

int md_to_html(const char *src, size_t len, md_write_fn write, void *ctx) {
    md m = {write, ctx, 0, 0, NULL, 0, 0};
    int rc = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len && rc == 0; i++) {
        if (i < len && src[i] != '\n' && src[i] != '\r') continue;
        rc = line(&m, src + start, i - start);
        if (i + 1 < len && src[i] == '\r' && src[i + 1] == '\n') i++;
        start = i + 1;
    }
    if (rc == 0) close_blocks(&m);
    for (size_t i = 0; i < m.nids; i++) free(m.ids[i]);
    free(m.ids);
    return rc;
}
