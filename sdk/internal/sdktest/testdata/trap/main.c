/* A renderer that aborts: the render must fail with a trap. */
#define KILN_IMPLEMENTATION
#include "kiln.h"
#include <stdlib.h>

static int render(const kiln_request *req, kiln_response *res) {
    (void)req;
    kiln_puts(res, "never sent");
    abort();
}
KILN_RENDER(render)
