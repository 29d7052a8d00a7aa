/*
 * json.h - the small JSON reader the About page needs: find a member of a
 * top-level object, walk an array, decode a string. It validates what it
 * skips, never reads past the given length, and allocates only decoded
 * strings (with malloc; free them). No dependency on kiln.h, so it is
 * unit-tested and fuzzed natively (json_test.c, json_fuzz.c).
 */
#ifndef ABOUT_JSON_H
#define ABOUT_JSON_H

#include <stddef.h>

enum {
    JSON_OK = 0,
    JSON_MISSING = -1,   /* no such member, or the end of an array */
    JSON_MALFORMED = -2  /* not valid JSON, or not the expected type */
};

/* A span of the input: one raw JSON value. */
typedef struct json_span {
    const char *ptr;
    size_t len;
} json_span;

/* json_member finds key in the object doc (the whole input must be one
 * object) and sets *out to its raw value. */
int json_member(json_span doc, const char *key, json_span *out);

/* An iterator over the elements of a raw JSON array. */
typedef struct json_iter {
    const char *p, *end;
    int first;
} json_iter;

/* json_array_begin starts iterating arr; it fails if arr is no array. */
int json_array_begin(json_span arr, json_iter *it);
/* json_array_next sets *out to the next element: JSON_OK, JSON_MISSING at
 * the end, JSON_MALFORMED on bad input. */
int json_array_next(json_iter *it, json_span *out);

/* json_string decodes a raw JSON string into a NUL-terminated UTF-8 copy
 * (*out, *out_len), handling every escape including surrogate pairs. */
int json_string(json_span v, char **out, size_t *out_len);

#endif
