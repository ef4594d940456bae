/*
 * JPEG through libjpeg-turbo, as PIL's open().convert("RGB") gets it
 * from the same library: JDCT_ISLOW, fancy upsampling, no scaling,
 * libjpeg's own YCbCr (or grey) to RGB conversion.
 *
 * Stricter than PIL: any warning of libjpeg (premature end of data,
 * corrupt data, extraneous bytes) is an error, and CMYK/YCCK are refused
 * rather than inverted and converted.  Errors leave libjpeg by longjmp()
 * to the one function that called setjmp(), which destroys the
 * decompressor; everything lives in that function's frame.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "infer_image.h"
#include "infer_image_codec.h"


/*
 * Each scan of a progressive JPEG is a pass over all its coefficients,
 * and a scan can be a few bytes: a crafted file makes thousands.
 * TurboJPEG's TJFLAG_LIMITSCANS stops at the same count.
 */
#define INFER_JPEG_MAX_SCANS  500


typedef struct {
    struct jpeg_error_mgr          pub;      /* first: cinfo->err is this */
    struct jpeg_progress_mgr       progress;
    jmp_buf                        jmp;
    infer_image_error_t           *e;
    int                            rc;
} infer_jpeg_err_t;


typedef struct {
    struct jpeg_decompress_struct  cinfo;
    infer_jpeg_err_t               err;
} infer_jpeg_t;


static void infer_jpeg_init(infer_jpeg_t *j, infer_image_error_t *e);
static void infer_jpeg_read_header(infer_jpeg_t *j,
    const unsigned char *data, size_t len, infer_image_info_t *info);
static void infer_jpeg_read_pixels(infer_jpeg_t *j,
    const unsigned char *data, size_t len, const infer_image_info_t *info,
    unsigned char *rgb);
static void infer_jpeg_fail(infer_jpeg_err_t *err, int rc,
    infer_image_reason_e reason, const char *fmt, ...);
static void infer_jpeg_error_exit(j_common_ptr cinfo);
static void infer_jpeg_emit_message(j_common_ptr cinfo, int msg_level);
static void infer_jpeg_output_message(j_common_ptr cinfo);
static void infer_jpeg_progress(j_common_ptr cinfo);


int
infer_image_jpeg_header(const unsigned char *data, size_t len,
    infer_image_info_t *info, infer_image_error_t *e)
{
    infer_jpeg_t  j;

    infer_jpeg_init(&j, e);

    if (setjmp(j.err.jmp) == 0) {
        infer_jpeg_read_header(&j, data, len, info);
        j.err.rc = INFER_OK;
    }

    jpeg_destroy_decompress(&j.cinfo);

    return j.err.rc;
}


int
infer_image_jpeg_decode(const unsigned char *data, size_t len,
    const infer_image_info_t *info, unsigned char *rgb,
    infer_image_error_t *e)
{
    infer_jpeg_t  j;

    infer_jpeg_init(&j, e);

    if (setjmp(j.err.jmp) == 0) {
        infer_jpeg_read_pixels(&j, data, len, info, rgb);
        j.err.rc = INFER_OK;
    }

    jpeg_destroy_decompress(&j.cinfo);

    return j.err.rc;
}


/* nothing here can fail: jpeg_destroy_decompress() sees mem == NULL */

static void
infer_jpeg_init(infer_jpeg_t *j, infer_image_error_t *e)
{
    memset(j, 0, sizeof(infer_jpeg_t));

    j->cinfo.err = jpeg_std_error(&j->err.pub);
    j->err.pub.error_exit = infer_jpeg_error_exit;
    j->err.pub.emit_message = infer_jpeg_emit_message;
    j->err.pub.output_message = infer_jpeg_output_message;
    j->err.progress.progress_monitor = infer_jpeg_progress;
    j->err.e = e;
    j->err.rc = INFER_ERROR;
}


static void
infer_jpeg_read_header(infer_jpeg_t *j, const unsigned char *data,
    size_t len, infer_image_info_t *info)
{
    const char                     *space;
    struct jpeg_decompress_struct  *cinfo;

    cinfo = &j->cinfo;

    jpeg_create_decompress(cinfo);
    jpeg_mem_src(cinfo, data, len);
    (void) jpeg_read_header(cinfo, TRUE);

    switch (cinfo->jpeg_color_space) {

    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        space = NULL;
        break;

    case JCS_CMYK:
        space = "CMYK";
        break;

    case JCS_YCCK:
        space = "YCCK";
        break;

    default:
        space = "unknown";
        break;
    }

    if (space != NULL) {
        infer_jpeg_fail(&j->err, INFER_EINVAL, INFER_IMAGE_COLORSPACE,
                        "the JPEG's colour space is %s (%d components): "
                        "only grey, YCbCr and RGB are decoded", space,
                        cinfo->num_components);
    }

    info->type = INFER_IMAGE_JPEG;
    info->width = cinfo->image_width;
    info->height = cinfo->image_height;
    info->channels = cinfo->num_components;
    info->bit_depth = cinfo->data_precision;
}


static void
infer_jpeg_read_pixels(infer_jpeg_t *j, const unsigned char *data,
    size_t len, const infer_image_info_t *info, unsigned char *rgb)
{
    size_t                          stride;
    JSAMPROW                        row;
    infer_image_info_t              now;
    struct jpeg_decompress_struct  *cinfo;

    cinfo = &j->cinfo;

    infer_jpeg_read_header(j, data, len, &now);

    if (now.width != info->width || now.height != info->height
        || now.channels != info->channels || now.bit_depth != info->bit_depth)
    {
        infer_jpeg_fail(&j->err, INFER_ERROR, INFER_IMAGE_CORRUPT,
                        "the JPEG is not the one of its header");
    }

    /* libjpeg's defaults, which are PIL's: said again, they are the point */
    cinfo->out_color_space = JCS_RGB;
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    cinfo->scale_num = 1;
    cinfo->scale_denom = 1;
    cinfo->progress = &j->err.progress;

    (void) jpeg_start_decompress(cinfo);

    if (cinfo->output_width != info->width
        || cinfo->output_height != info->height
        || cinfo->output_components != 3)
    {
        infer_jpeg_fail(&j->err, INFER_ERROR, INFER_IMAGE_CORRUPT,
                        "libjpeg gave %ux%ux%d for a %ux%u JPEG",
                        (unsigned) cinfo->output_width,
                        (unsigned) cinfo->output_height,
                        cinfo->output_components, (unsigned) info->width,
                        (unsigned) info->height);
    }

    stride = (size_t) info->width * 3;

    while (cinfo->output_scanline < cinfo->output_height) {
        row = rgb + cinfo->output_scanline * stride;

        /* 0 only when a source suspends, and memory never does */
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            infer_jpeg_fail(&j->err, INFER_ERROR, INFER_IMAGE_CORRUPT,
                            "libjpeg read no row");
        }
    }

    /* reads up to EOI: a truncated tail is an error, as the rest is */
    (void) jpeg_finish_decompress(cinfo);
}


static void
infer_jpeg_fail(infer_jpeg_err_t *err, int rc, infer_image_reason_e reason,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(err->e->msg, sizeof(err->e->msg), fmt, args);
    va_end(args);

    err->e->reason = reason;
    err->rc = rc;

    longjmp(err->jmp, 1);
}


static void
infer_jpeg_error_exit(j_common_ptr cinfo)
{
    char               text[JMSG_LENGTH_MAX];
    infer_jpeg_err_t  *err;

    err = (infer_jpeg_err_t *) cinfo->err;

    err->pub.format_message(cinfo, text);

    switch (err->pub.msg_code) {

    case JERR_OUT_OF_MEMORY:
        infer_jpeg_fail(err, INFER_ERROR, INFER_IMAGE_OK,
                        "out of memory decoding the JPEG: %s", text);
        break;

    case JERR_IMAGE_TOO_BIG:
        infer_jpeg_fail(err, INFER_EINVAL, INFER_IMAGE_TOO_LARGE,
                        "the image is too large: %s", text);
        break;

    case JWRN_JPEG_EOF:
        infer_jpeg_fail(err, INFER_EINVAL, INFER_IMAGE_CORRUPT,
                        "the JPEG is truncated: %s", text);
        break;

    default:
        infer_jpeg_fail(err, INFER_EINVAL, INFER_IMAGE_CORRUPT,
                        "the JPEG is corrupt: %s", text);
        break;
    }
}


/* a warning (level -1) is an error; traces (0 and up) are dropped */

static void
infer_jpeg_emit_message(j_common_ptr cinfo, int msg_level)
{
    if (msg_level < 0) {
        infer_jpeg_error_exit(cinfo);
    }
}


/* libjpeg's own prints to stderr: the text goes to e->msg instead */

static void
infer_jpeg_output_message(j_common_ptr cinfo)
{
    (void) cinfo;
}


static void
infer_jpeg_progress(j_common_ptr cinfo)
{
    j_decompress_ptr  dinfo;

    dinfo = (j_decompress_ptr) cinfo;

    if (dinfo->input_scan_number > INFER_JPEG_MAX_SCANS) {
        infer_jpeg_fail((infer_jpeg_err_t *) cinfo->err, INFER_EINVAL,
                        INFER_IMAGE_CORRUPT, "the JPEG is corrupt: more "
                        "than %d scans", INFER_JPEG_MAX_SCANS);
    }
}
