/* md_test.c - table tests of md.c, run natively by ../postc_test.go:
 *     cc -o md_test md_test.c md.c && ./md_test
 * Expected outputs are goldmark's (GFM, auto heading ids) for input
 * inside the subset; the rest documents the subset's own choices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "md.h"

typedef struct buf {
    char *p;
    size_t len;
} buf;

static void collect(void *ctx, const char *p, size_t n) {
    buf *b = ctx;
    b->p = realloc(b->p, b->len + n + 1);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

static int failures;

static void check_n(const char *src, size_t n, const char *want) {
    buf b = {calloc(1, 1), 0};
    int rc = md_to_html(src, n, collect, &b);
    if (rc != 0 || strcmp(b.p, want) != 0) {
        printf("FAIL md_to_html(%s)\n got: %s\nwant: %s\n", src, b.p, want);
        failures++;
    }
    free(b.p);
}

static void check(const char *src, const char *want) { check_n(src, strlen(src), want); }

int main(void) {
    check("", "");
    check("\n\n  \n", "");
    check("Hello.", "<p>Hello.</p>\n");
    check("One\ntwo\n\nThree\n", "<p>One\ntwo</p>\n<p>Three</p>\n");
    check("  lead and trail  \n  next  ", "<p>lead and trail\nnext</p>\n");
    check("a\r\nb\rc", "<p>a\nb\nc</p>\n");
    check("## Lorem ipsum\n\nText.", "<h2 id=\"lorem-ipsum\">Lorem ipsum</h2>\n<p>Text.</p>\n");
    check("# A\n###### F\n####### seven", "<h1 id=\"a\">A</h1>\n<h6 id=\"f\">F</h6>\n<p>####### seven</p>\n");
    check("#hashtag", "<p>#hashtag</p>\n");
    check("## closed ##\n## not#\n#\n# #", "<h2 id=\"closed\">closed</h2>\n<h2 id=\"not\">not#</h2>\n"
                                         "<h1 id=\"heading\"></h1>\n<h1 id=\"heading-1\"></h1>\n");
    check("## Same\n## Same\n## Same-1\n## Same", "<h2 id=\"same\">Same</h2>\n<h2 id=\"same-1\">Same</h2>\n"
                                                "<h2 id=\"same-1-1\">Same-1</h2>\n<h2 id=\"same-2\">Same</h2>\n");
    check("## Caf\xc3\xa9 au_lait 2!", "<h2 id=\"caf-au-lait-2\">Caf\xc3\xa9 au_lait 2!</h2>\n");
    check("para\n## Head", "<p>para</p>\n<h2 id=\"head\">Head</h2>\n");
    check("- a\n- b\n- c\n", "<ul>\n<li>a</li>\n<li>b</li>\n<li>c</li>\n</ul>\n");
    check("text\n- item\nlazy\n\nafter", "<p>text</p>\n<ul>\n<li>item\nlazy</li>\n</ul>\n<p>after</p>\n");
    check("- a\n## H\n- b", "<ul>\n<li>a</li>\n</ul>\n<h2 id=\"h\">H</h2>\n<ul>\n<li>b</li>\n</ul>\n");
    check("-\n- \n-x", "<p>-\n-\n-x</p>\n");
    check("<script>alert(\"x\") & 'y'</script>", "<p>&lt;script&gt;alert(&quot;x&quot;) &amp; 'y'&lt;/script&gt;</p>\n");
    check("## <b>", "<h2 id=\"b\">&lt;b&gt;</h2>\n");
    check_n("a\0b", 3, "<p>a\xef\xbf\xbd" "b</p>\n");
    /* subset choices: no inline markup, a blank line ends a list */
    check("**bold** and `code`", "<p>**bold** and `code`</p>\n");
    check("- a\n\n- b", "<ul>\n<li>a</li>\n</ul>\n<ul>\n<li>b</li>\n</ul>\n");
    if (failures) return 1;
    printf("ok\n");
    return 0;
}
