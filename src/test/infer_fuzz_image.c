/*
 * libFuzzer harness for the JPEG and PNG decoders: any bytes, of no
 * declared type, 1 Mpixel at most.  What the header accepts is decoded
 * into a buffer of exactly its size, where ASan sees a write past it;
 * a refusal must give a reason and a short ASCII message, and a decode
 * must never say its header was wrong (INFER_ERROR: the bytes are the
 * same).  The other declared types are refused as the wrong type.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "infer_image.h"


#define MAX_PIXELS  (1 << 20)


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(int rc, const infer_image_error_t *e);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  rc;
    size_t               n;
    unsigned char       *rgb;
    infer_image_info_t   info;
    infer_image_error_t  e;
    infer_image_type_e   declared;

    rc = infer_image_header(data, size, INFER_IMAGE_NONE, MAX_PIXELS, &info,
                            &e);
    if (rc != INFER_OK) {
        check_refusal(rc, &e);
        return 0;
    }

    if (info.type != infer_image_sniff(data, size)
        || info.width == 0 || info.height == 0
        || (uint64_t) info.width * info.height > MAX_PIXELS
        || info.channels < 1 || info.channels > 4
        || info.bit_depth < 1 || info.bit_depth > 16)
    {
        abort();
    }

    declared = (info.type == INFER_IMAGE_JPEG) ? INFER_IMAGE_PNG
                                               : INFER_IMAGE_JPEG;

    if (infer_image_header(data, size, declared, MAX_PIXELS, &info, &e)
        != INFER_EINVAL || e.reason != INFER_IMAGE_WRONG_TYPE)
    {
        abort();
    }

    rc = infer_image_header(data, size, INFER_IMAGE_NONE, MAX_PIXELS, &info,
                            &e);
    if (rc != INFER_OK) {
        abort();
    }

    n = (size_t) info.width * info.height * 3;
    rgb = malloc(n);

    if (rgb == NULL) {
        return 0;
    }

    rc = infer_image_decode(data, size, &info, rgb, &e);

    if (rc != INFER_OK) {
        check_refusal(rc, &e);
    }

    free(rgb);

    return 0;
}


static void
check_refusal(int rc, const infer_image_error_t *e)
{
    size_t  i, len;

    if (rc != INFER_EINVAL
        || e->reason <= INFER_IMAGE_OK || e->reason >= INFER_IMAGE_NREASONS)
    {
        abort();
    }

    len = strnlen(e->msg, sizeof(e->msg));

    if (len == 0 || len == sizeof(e->msg) || e->msg[0] < 'a'
        || e->msg[0] > 'z')
    {
        abort();
    }

    for (i = 0; i < len; i++) {
        if (e->msg[i] < 0x20 || e->msg[i] > 0x7e) {
            abort();
        }
    }
}
