/*
 * md.h - the Markdown the C post page converts to HTML: a SUBSET of
 * CommonMark, enough for the posts sites/blog/cmd/genposts writes.
 *
 *   - paragraphs: runs of non-blank lines, joined with "\n", each line
 *     trimmed;
 *   - ATX headings "# " to "###### ", with an optional closing "#" run and
 *     the id goldmark's WithAutoHeadingID gives ("## Lorem ipsum" is
 *     <h2 id="lorem-ipsum">, repeats get -1, -2, ...);
 *   - tight bullet lists of "- " items; a non-blank line after an item
 *     continues it (lazy continuation); a blank line ends the list.
 *
 * Everything else is text: no inline markup (emphasis, code, links), no
 * ordered lists, block quotes, code blocks, tables, setext headings or
 * thematic breaks, and indentation is ignored. Text is HTML-escaped like
 * goldmark escapes it (& < > " and NUL as U+FFFD), so a body cannot inject
 * markup. For input inside the subset the output is byte-for-byte
 * goldmark's (tested against it in ../postc_test.go).
 *
 * No dependency on kiln.h: unit-tested and fuzzed natively (md_test.c,
 * md_fuzz.c).
 */
#ifndef POST_MD_H
#define POST_MD_H

#include <stddef.h>

/* md_write_fn receives the HTML, piece by piece. */
typedef void (*md_write_fn)(void *ctx, const char *p, size_t n);

/* md_to_html converts src[0:len] (which may hold NULs) and writes the HTML
 * through write. It returns 0, or -1 if memory ran out. */
int md_to_html(const char *src, size_t len, md_write_fn write, void *ctx);

#endif
