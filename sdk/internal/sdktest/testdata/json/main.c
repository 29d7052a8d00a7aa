/* Unit tests of kiln_json.h, run as a WASI command: prints one line per
 * failed case and exits 1 if any failed. */
#define KILN_JSON_IMPLEMENTATION
#include "kiln_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failed;

static void check_string(const char *doc, const char *field, int want_rc, const char *want) {
    char *got;
    size_t n;
    int rc = kiln_json_string(doc, strlen(doc), field, &got, &n);
    if (rc != want_rc || (want && (n != strlen(want) || memcmp(got, want, n) != 0))) {
        printf("string(%s, %s) = %d %s, want %d %s\n", doc, field, rc, got ? got : "-", want_rc, want ? want : "-");
        failed = 1;
    }
    free(got);
}

static void check_number(const char *doc, const char *field, int want_rc, double want) {
    double got;
    int rc = kiln_json_number(doc, strlen(doc), field, &got);
    if (rc != want_rc || (rc == KILN_JSON_OK && got != want)) {
        printf("number(%s, %s) = %d %g, want %d %g\n", doc, field, rc, got, want_rc, want);
        failed = 1;
    }
}

int main(void) {
    const char *doc = " {\"a\": [1, {\"title\": \"no\"}], \"title\": \"H\\u00e9llo \\ud83c\\udf89 \\\"x\\\"\\n\","
                      " \"n\": -1.5e2, \"z\": 0, \"t\": true, \"nul\": null} ";
    check_string(doc, "title", KILN_JSON_OK, "H\xc3\xa9llo \xf0\x9f\x8e\x89 \"x\"\n");
    check_string(doc, "n", KILN_JSON_MISSING, NULL);
    check_string(doc, "missing", KILN_JSON_MISSING, NULL);
    check_string("{\"s\": \"\\ud800x\"}", "s", KILN_JSON_OK, "\xef\xbf\xbdx");
    check_string("{\"s\": \"a\\u0000b\"}", "s", KILN_JSON_OK, NULL);
    check_string("{\"s\": \"x\",}", "s", KILN_JSON_MALFORMED, NULL);
    check_string("{\"s\": \"x\"} x", "s", KILN_JSON_MALFORMED, NULL);
    check_string("{\"s\": \"\\q\"}", "s", KILN_JSON_MALFORMED, NULL);
    check_string("[\"s\"]", "s", KILN_JSON_MALFORMED, NULL);
    check_string("{}", "s", KILN_JSON_MISSING, NULL);
    check_number(doc, "n", KILN_JSON_OK, -150);
    check_number(doc, "z", KILN_JSON_OK, 0);
    check_number(doc, "t", KILN_JSON_MISSING, 0);
    check_number(doc, "title", KILN_JSON_MISSING, 0);
    check_number("{\"n\": 01}", "n", KILN_JSON_MALFORMED, 0);
    check_number("{\"n\": 1.}", "n", KILN_JSON_MALFORMED, 0);
    check_number("{\"n\": 12345678901234567890}", "n", KILN_JSON_OK, 12345678901234567890.0);
    return failed;
}
