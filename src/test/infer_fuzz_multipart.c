/*
 * libFuzzer harness for the multipart/form-data reader: the input's first
 * line is the Content-Type, the rest the body.  A part found must lie
 * inside the body, and its type inside the part's headers.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "infer_image.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                    err[INFER_ERRLEN];
    size_t                  clen, blen;
    uint8_t                *copy;
    const uint8_t          *nl, *body;
    infer_multipart_part_t  part;

    nl = memchr(data, '\n', size);
    clen = nl ? (size_t) (nl - data) : size;
    body = nl ? nl + 1 : data + size;

    /* a copy of its own size, so that ASan sees any read past the end */

    blen = size - (body - data);

    copy = malloc(blen + 1);
    if (copy == NULL) {
        return 0;
    }

    memcpy(copy, body, blen);

    if (infer_multipart_file(data, clen, copy, blen, &part, err, sizeof(err))
        == INFER_OK)
    {
        if (part.data < copy || part.data + part.len > copy + blen) {
            abort();
        }

        if (part.type != NULL
            && (part.type < copy || part.type + part.type_len > part.data))
        {
            abort();
        }

    } else if (strlen(err) == 0 || strlen(err) >= sizeof(err)) {
        abort();
    }

    free(copy);

    return 0;
}
