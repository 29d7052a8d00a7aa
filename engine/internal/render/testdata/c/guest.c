/*
 * guest.c - hand-written raw-ABI C guests for the bad-input tests, one per
 * VARIANT (built with -DVARIANT_<name>). No SDK: each breaks one rule.
 */
#include <stdint.h>

#define IMPORT(name) __attribute__((import_module("kiln"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("request") void kiln_request(void *ptr);
IMPORT("response") void kiln_response(const void *ptr, uint32_t len);
IMPORT("result") void kiln_result(void *ptr);
IMPORT("log") void kiln_log(int32_t level, const void *ptr, uint32_t len);

#ifndef VARIANT_NOMARKER
#ifdef VARIANT_VERSION7
EXPORT("kiln_abi_version_7") void marker(void) {}
#else
EXPORT("kiln_abi_version_1") void marker(void) {}
#endif
#endif

static const uint8_t ok[] = {
    0, 0, 0, 0,                    /* status */
    0, 0, 0, 0,                    /* flags */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* revalidate -1 */
    0, 0, 0, 0,                    /* redirect */
    0, 0, 0, 0,                    /* headers */
    0, 0, 0, 0,                    /* tags */
    2, 0, 0, 0, 'o', 'k',          /* body */
};

#if defined(VARIANT_BADSIG)
EXPORT("kiln_render") int32_t render(void) { return 0; }
#elif defined(VARIANT_IMPORT)
__attribute__((import_module("env"), import_name("sneaky"))) void sneaky(void);
EXPORT("kiln_render") int32_t render(int32_t n) { sneaky(); return 0; }
#else
EXPORT("kiln_render") int32_t render(int32_t n) {
#if defined(VARIANT_TRAP)
    __builtin_trap();
#elif defined(VARIANT_HUGE)
    kiln_response((const void *)0, 100u << 20); /* claims 100 MB */
    return 0;
#elif defined(VARIANT_NORESULT)
    static uint8_t buf[16];
    kiln_result(buf); /* nothing pending: traps in the host */
#elif defined(VARIANT_OOB)
    kiln_request((void *)0xfffffff0); /* out of bounds: traps in the host */
#elif defined(VARIANT_LOOP)
    for (volatile int i = 0;; i++) {
    }
#elif defined(VARIANT_RESPONSES)
    /* 400 responses of 16 MiB: the host must not keep a copy of each. */
    static uint8_t big[16 << 20];
    for (int i = 0; i < 400; i++) {
        kiln_response(big, sizeof big);
    }
#elif defined(VARIANT_LOGFLOOD)
    static uint8_t line[64 << 10];
    for (int i = 0; i < (int)sizeof line; i++) {
        line[i] = 'z';
    }
    for (;;) {
        kiln_log(1, line, sizeof line);
    }
#endif
    kiln_response(ok, sizeof ok);
    return 0;
}
#endif

#ifdef VARIANT_COMMAND
int main(void) { return 0; }
#endif
