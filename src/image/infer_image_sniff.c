/*
 * What the bytes are, whatever the Content-Type says, and the dispatch
 * of infer_image_header() and infer_image_decode() to the decoder of
 * the type.  The signatures are the ones PIL's open() accepts: JPEG's
 * SOI and the first marker's 0xff, PNG's eight bytes.
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "infer_image.h"
#include "infer_image_codec.h"


static const char *infer_image_other(const unsigned char *data, size_t len);


static const unsigned char  infer_image_jpeg_sig[] = { 0xff, 0xd8, 0xff };
static const unsigned char  infer_image_png_sig[] = {
    0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'
};


infer_image_type_e
infer_image_sniff(const unsigned char *data, size_t len)
{
    if (len >= sizeof(infer_image_jpeg_sig)
        && memcmp(data, infer_image_jpeg_sig, sizeof(infer_image_jpeg_sig))
           == 0)
    {
        return INFER_IMAGE_JPEG;
    }

    if (len >= sizeof(infer_image_png_sig)
        && memcmp(data, infer_image_png_sig, sizeof(infer_image_png_sig))
           == 0)
    {
        return INFER_IMAGE_PNG;
    }

    return INFER_IMAGE_NONE;
}


const char *
infer_image_type_name(infer_image_type_e type)
{
    switch (type) {

    case INFER_IMAGE_JPEG:
        return "jpeg";

    case INFER_IMAGE_PNG:
        return "png";

    default:
        return "none";
    }
}


const char *
infer_image_reason_name(infer_image_reason_e reason)
{
    switch (reason) {

    case INFER_IMAGE_OK:
        return "ok";

    case INFER_IMAGE_EMPTY:
        return "empty";

    case INFER_IMAGE_WRONG_TYPE:
        return "wrong_type";

    case INFER_IMAGE_TOO_LARGE:
        return "too_large";

    case INFER_IMAGE_COLORSPACE:
        return "colorspace";

    default:
        return "corrupt";
    }
}


int
infer_image_header(const unsigned char *data, size_t len,
    infer_image_type_e declared, uint64_t max_pixels,
    infer_image_info_t *info, infer_image_error_t *e)
{
    int                  rc;
    uint64_t             pixels;
    const char          *other;
    infer_image_type_e   sniffed;

    memset(info, 0, sizeof(infer_image_info_t));
    e->reason = INFER_IMAGE_OK;
    e->msg[0] = '\0';

    if (len == 0) {
        e->reason = INFER_IMAGE_EMPTY;
        snprintf(e->msg, sizeof(e->msg), "the image is empty");
        return INFER_EINVAL;
    }

    sniffed = infer_image_sniff(data, len);

    if (sniffed == INFER_IMAGE_NONE || (declared != INFER_IMAGE_NONE
                                        && declared != sniffed))
    {
        other = (sniffed != INFER_IMAGE_NONE)
                ? (sniffed == INFER_IMAGE_JPEG ? "a JPEG" : "a PNG")
                : infer_image_other(data, len);

        snprintf(e->msg, sizeof(e->msg), "not a %s image%s%s",
                 declared == INFER_IMAGE_JPEG ? "JPEG"
                 : declared == INFER_IMAGE_PNG ? "PNG" : "JPEG or PNG",
                 other != NULL ? " but " : "", other != NULL ? other : "");
        e->reason = INFER_IMAGE_WRONG_TYPE;

        return INFER_EINVAL;
    }

    if (sniffed == INFER_IMAGE_JPEG) {
        rc = infer_image_jpeg_header(data, len, info, e);

    } else {
        rc = infer_image_png_header(data, len, info, e);
    }

    if (rc != INFER_OK) {
        return rc;
    }

    /* the decoders refuse a zero side; both sides fit in 32 bits */
    pixels = (uint64_t) info->width * info->height;

    if (pixels > max_pixels) {
        snprintf(e->msg, sizeof(e->msg),
                 "the image is too large: %" PRIu32 "x%" PRIu32 " pixels, "
                 "over the limit of %" PRIu64, info->width, info->height,
                 max_pixels);
        e->reason = INFER_IMAGE_TOO_LARGE;

        return INFER_EINVAL;
    }

    return INFER_OK;
}


int
infer_image_decode(const unsigned char *data, size_t len,
    const infer_image_info_t *info, unsigned char *rgb,
    infer_image_error_t *e)
{
    e->reason = INFER_IMAGE_OK;
    e->msg[0] = '\0';

    /* the caller's bug, not the client's: the buffer was sized by info */
    if (info->type == INFER_IMAGE_NONE
        || infer_image_sniff(data, len) != info->type)
    {
        snprintf(e->msg, sizeof(e->msg), "the image is not the %s of its "
                 "header", infer_image_type_name(info->type));
        return INFER_ERROR;
    }

    if (info->type == INFER_IMAGE_JPEG) {
        return infer_image_jpeg_decode(data, len, info, rgb, e);
    }

    return infer_image_png_decode(data, len, info, rgb, e);
}


/* a few other image types, only to say what the bytes were */

static const char *
infer_image_other(const unsigned char *data, size_t len)
{
    if (len >= 6
        && (memcmp(data, "GIF87a", 6) == 0 || memcmp(data, "GIF89a", 6) == 0))
    {
        return "a GIF";
    }

    if (len >= 12
        && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0)
    {
        return "a WebP";
    }

    if (len >= 4
        && (memcmp(data, "II*\0", 4) == 0 || memcmp(data, "MM\0*", 4) == 0))
    {
        return "a TIFF";
    }

    return NULL;
}

