/* json_fuzz.c - libFuzzer target for json.c, run by renderers_test.go:
 *     clang -fsanitize=fuzzer,address,undefined -o json_fuzz json_fuzz.c json.c
 *     ./json_fuzz -runs=200000
 * Address and undefined-behaviour sanitizers catch any read past the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Copy to an exact-size buffer so ASan sees any overread. */
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    json_span doc = {buf, size}, v, e;
    char *s;
    size_t n;
    if (json_member(doc, "paragraphs", &v) == JSON_OK) {
        json_iter it;
        if (json_array_begin(v, &it) == JSON_OK)
            while (json_array_next(&it, &e) == JSON_OK)
                if (json_string(e, &s, &n) == JSON_OK) {
                    if (strlen(s) > n) abort(); /* NUL-terminated at n */
                    free(s);
                }
        if (json_string(v, &s, &n) == JSON_OK) free(s);
    }
    if (json_string(doc, &s, &n) == JSON_OK) free(s);
    free(buf);
    return 0;
}
