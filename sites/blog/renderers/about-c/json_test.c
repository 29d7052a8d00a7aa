/* json_test.c - table tests of json.c, run natively by renderers_test.go:
 *     cc -o json_test json_test.c json.c && ./json_test
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int failures;

static json_span span(const char *s) {
    json_span v = {s, strlen(s)};
    return v;
}

/* check_member decodes member key of doc as a string. want NULL means the
 * call must return code instead. */
static void check_member(const char *doc, const char *key, int code, const char *want) {
    json_span v;
    char *got = NULL;
    size_t n = 0;
    int rc = json_member(span(doc), key, &v);
    if (rc == JSON_OK && want) rc = json_string(v, &got, &n);
    if (rc != code || (want && (!got || n != strlen(want) || memcmp(got, want, n) != 0))) {
        printf("FAIL json_member(%s, %s) = %d %s, want %d %s\n", doc, key, rc, got ? got : "", code, want ? want : "");
        failures++;
    }
    free(got);
}

static void check_array(const char *arr, int want_count, int want_end) {
    json_iter it;
    json_span v;
    int n = 0, rc = json_array_begin(span(arr), &it);
    if (rc == JSON_OK)
        while ((rc = json_array_next(&it, &v)) == JSON_OK) n++;
    if (n != want_count || rc != want_end) {
        printf("FAIL array %s: %d items, end %d; want %d, %d\n", arr, n, rc, want_count, want_end);
        failures++;
    }
}

int main(void) {
    check_member("{\"title\":\"About\"}", "title", JSON_OK, "About");
    check_member(" { \"a\" : 1 , \"title\" : \"x\" } ", "title", JSON_OK, "x");
    check_member("{\"t\\u0069tle\":\"escaped key\"}", "title", JSON_OK, "escaped key");
    check_member("{\"title\":\"a\\\"b\\\\c\\/d\\n\"}", "title", JSON_OK, "a\"b\\c/d\n");
    check_member("{\"title\":\"caf\\u00e9 \\u20ac \\ud83d\\ude00\"}", "title", JSON_OK, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    check_member("{\"title\":\"lone \\ud800 x\"}", "title", JSON_OK, "lone \xef\xbf\xbd x");
    check_member("{\"title\":\"<b>&</b>\"}", "title", JSON_OK, "<b>&</b>");
    check_member("{\"n\":[1,-2.5e3,true,false,null,{\"x\":[]}],\"title\":\"ok\"}", "title", JSON_OK, "ok");
    check_member("{\"title\":\"first\",\"title\":\"second\"}", "title", JSON_OK, "first");
    check_member("{}", "title", JSON_MISSING, NULL);
    check_member("{\"other\":\"x\"}", "title", JSON_MISSING, NULL);
    check_member("", "title", JSON_MALFORMED, NULL);
    check_member("[\"title\"]", "title", JSON_MALFORMED, NULL);
    check_member("{\"title\":\"x\"", "title", JSON_MALFORMED, NULL);
    check_member("{\"title\":\"x\"} trailing", "title", JSON_MALFORMED, NULL);
    check_member("{\"title\":\"x\",}", "title", JSON_MALFORMED, NULL);
    check_member("{\"title\":\"bad \\q escape\"}", "title", JSON_MALFORMED, NULL);
    check_member("{\"title\":\"raw \n newline\"}", "title", JSON_MALFORMED, NULL);
    check_member("{\"title\":01}", "title", JSON_MALFORMED, NULL);
    check_member("{\"title\":tru}", "title", JSON_MALFORMED, NULL);
    check_member("{\"title\":1}", "title", JSON_OK, NULL);
    check_array("[]", 0, JSON_MISSING);
    check_array(" [ \"a\" , \"b\" ] ", 2, JSON_MISSING);
    check_array("[[1,2],{\"a\":[3]},\"x\"]", 3, JSON_MISSING);
    check_array("[1,]", 0, JSON_MALFORMED);
    check_array("[1 2]", 0, JSON_MALFORMED);
    check_array("{}", 0, JSON_MALFORMED);
    if (failures) return 1;
    printf("ok\n");
    return 0;
}
