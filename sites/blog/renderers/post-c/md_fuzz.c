/* md_fuzz.c - libFuzzer target for md.c, run by ../postc_test.go:
 *     clang -fsanitize=fuzzer,address,undefined -o md_fuzz md_fuzz.c md.c
 *     ./md_fuzz -runs=200000
 * Address and undefined-behaviour sanitizers catch any read past the
 * input; the checks below catch unbalanced or unescaped output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "md.h"

typedef struct out {
    size_t opens, closes, len;
    int lt; /* a '<' not starting a tag md.c writes */
} out;

static const char *const tags[] = {"<p>", "<ul>", "<li>", "<h1 ", "<h2 ", "<h3 ", "<h4 ", "<h5 ", "<h6 "};

static void count(void *ctx, const char *p, size_t n) {
    out *o = ctx;
    o->len += n;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '<') continue;
        if (i + 1 < n && p[i + 1] == '/') {
            o->closes++;
            continue;
        }
        int known = 0;
        for (size_t t = 0; t < sizeof tags / sizeof *tags; t++)
            if (n - i >= strlen(tags[t]) && memcmp(p + i, tags[t], strlen(tags[t])) == 0) known = 1;
        if (known) o->opens++;
        else o->lt = 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *buf = malloc(size ? size : 1); /* exact size: ASan sees overreads */
    memcpy(buf, data, size);
    out o = {0};
    if (md_to_html(buf, size, count, &o) != 0) abort();
    /* every element closed; no markup from the input */
    if (o.opens != o.closes || o.lt) abort();
    free(buf);
    return 0;
}
