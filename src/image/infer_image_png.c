/*
 * PNG through libpng 1.6, read from memory, with the transformations
 * that give PIL's convert("RGB"): palette and grey expanded to RGB,
 * alpha dropped (not composited), tRNS ignored, no gamma.  A palette
 * shorter than its indices is padded with PIL's grey ramp (index i is
 * i,i,i) where libpng would give black.  16-bit samples are scaled by
 * rounding (v / 257), as infer_image.h says, which is not PIL 9.4: it
 * keeps the high byte of RGB (v >> 8, 1 less for a quarter of values)
 * and clips grey to 255 (its mode "I").
 *
 * Stricter than PIL: a bad CRC on any chunk is an error, and so is a
 * missing IEND.  Ancillary chunks are skipped unparsed (their CRC still
 * checked): nothing of theirs changes the pixels PIL gives, and zTXt,
 * iCCP or eXIf parsed are only work and warnings.  Errors leave libpng by
 * png_longjmp() to the function that called setjmp().
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "infer_image.h"
#include "infer_image_codec.h"


/* more pixels a side is a crafted IHDR, whatever max_pixels allows */
#define INFER_PNG_MAX_SIDE   (1 << 20)

/* the longest chunk read (ancillary ones skipped but for their CRC) */
#define INFER_PNG_MAX_CHUNK  (8 << 20)

/*
 * libpng inflates all that follows the last row, to see the stream end:
 * 1 MB of extra deflated zeros is 1 GB, seconds of CPU (60 MB took 175
 * ms).  The last row may read twice its bytes as stored (deflate's worst
 * is 1.125 times) and one more of libpng's 8 KB reads of IDAT: what is
 * read past that is refused, after 36 ms at most for a 1x1 image.
 */
#define INFER_PNG_TAIL       (9 << 10)


typedef struct {
    const unsigned char     *data;
    size_t                   len;
    size_t                   pos;
    size_t                   tail_end;       /* reads stop here; 0: none */
    png_structp              png;
    png_infop                info;
    infer_image_error_t     *e;
    int                      rc;
    unsigned                 oom:1;
    unsigned                 truncated:1;
    unsigned                 over_side:1;
    unsigned                 too_much:1;
} infer_png_t;


static int infer_png_create(infer_png_t *p, const unsigned char *data,
    size_t len, infer_image_error_t *e);
static void infer_png_read_header(infer_png_t *p, infer_image_info_t *info);
static void infer_png_read_pixels(infer_png_t *p,
    const infer_image_info_t *info, unsigned char *rgb);
static void infer_png_pad_palette(infer_png_t *p);
static void infer_png_transform(infer_png_t *p);
static void infer_png_fail(infer_png_t *p, int rc,
    infer_image_reason_e reason, const char *fmt, ...);
static void infer_png_read(png_structp png, png_bytep out, size_t n);
static void infer_png_error(png_structp png, png_const_charp msg);
static void infer_png_warning(png_structp png, png_const_charp msg);
static png_voidp infer_png_malloc(png_structp png, png_alloc_size_t size);
static void infer_png_free(png_structp png, png_voidp ptr);


int
infer_image_png_header(const unsigned char *data, size_t len,
    infer_image_info_t *info, infer_image_error_t *e)
{
    infer_png_t  p;

    if (infer_png_create(&p, data, len, e) != INFER_OK) {
        return INFER_ERROR;
    }

    if (setjmp(png_jmpbuf(p.png)) == 0) {
        infer_png_read_header(&p, info);
        p.rc = INFER_OK;
    }

    png_destroy_read_struct(&p.png, &p.info, NULL);

    return p.rc;
}


int
infer_image_png_decode(const unsigned char *data, size_t len,
    const infer_image_info_t *info, unsigned char *rgb,
    infer_image_error_t *e)
{
    infer_png_t  p;

    if (infer_png_create(&p, data, len, e) != INFER_OK) {
        return INFER_ERROR;
    }

    if (setjmp(png_jmpbuf(p.png)) == 0) {
        infer_png_read_pixels(&p, info, rgb);
        p.rc = INFER_OK;
    }

    png_destroy_read_struct(&p.png, &p.info, NULL);

    return p.rc;
}


/* nothing that can png_error() before the caller's setjmp() */

static int
infer_png_create(infer_png_t *p, const unsigned char *data, size_t len,
    infer_image_error_t *e)
{
    memset(p, 0, sizeof(infer_png_t));

    p->data = data;
    p->len = len;
    p->e = e;
    p->rc = INFER_ERROR;

    p->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, p,
                                      infer_png_error, infer_png_warning,
                                      p, infer_png_malloc, infer_png_free);
    if (p->png != NULL) {
        p->info = png_create_info_struct(p->png);

        if (p->info != NULL) {
            return INFER_OK;
        }

        png_destroy_read_struct(&p->png, NULL, NULL);
    }

    e->reason = INFER_IMAGE_OK;
    snprintf(e->msg, sizeof(e->msg), "out of memory decoding the PNG");

    return INFER_ERROR;
}


static void
infer_png_read_header(infer_png_t *p, infer_image_info_t *info)
{
    png_set_read_fn(p->png, p, infer_png_read);

    png_set_crc_action(p->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_set_user_limits(p->png, INFER_PNG_MAX_SIDE, INFER_PNG_MAX_SIDE);
    png_set_chunk_malloc_max(p->png, INFER_PNG_MAX_CHUNK);

    /* all but IHDR, PLTE, tRNS, IDAT and IEND: skipped, CRC checked */
    png_set_keep_unknown_chunks(p->png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);

    png_read_info(p->png, p->info);

    info->type = INFER_IMAGE_PNG;
    info->width = png_get_image_width(p->png, p->info);
    info->height = png_get_image_height(p->png, p->info);
    info->channels = png_get_channels(p->png, p->info);
    info->bit_depth = png_get_bit_depth(p->png, p->info);
}


static void
infer_png_read_pixels(infer_png_t *p, const infer_image_info_t *info,
    unsigned char *rgb)
{
    int                 pass, passes;
    size_t              raw, stride;
    uint32_t            y;
    infer_image_info_t  now;

    infer_png_read_header(p, &now);

    if (now.width != info->width || now.height != info->height
        || now.channels != info->channels || now.bit_depth != info->bit_depth)
    {
        infer_png_fail(p, INFER_ERROR, INFER_IMAGE_CORRUPT,
                       "the PNG is not the one of its header");
    }

    infer_png_pad_palette(p);
    infer_png_transform(p);

    passes = png_set_interlace_handling(p->png);
    png_read_update_info(p->png, p->info);

    stride = (size_t) info->width * 3;

    if (png_get_rowbytes(p->png, p->info) != stride
        || png_get_channels(p->png, p->info) != 3
        || png_get_bit_depth(p->png, p->info) != 8)
    {
        infer_png_fail(p, INFER_ERROR, INFER_IMAGE_CORRUPT,
                       "libpng gave %u channels of %u bits",
                       (unsigned) png_get_channels(p->png, p->info),
                       (unsigned) png_get_bit_depth(p->png, p->info));
    }

    /* a row as stored, and its filter byte: 8 MB at most a side's limit */
    raw = ((size_t) info->width * info->channels * info->bit_depth + 7) / 8
          + 1;

    for (pass = 0; pass < passes; pass++) {
        for (y = 0; y < info->height; y++) {

            if (pass == passes - 1 && y == info->height - 1) {
                p->tail_end = p->pos + INFER_PNG_TAIL + raw * 2;
            }

            png_read_row(p->png, rgb + y * stride, NULL);
        }
    }

    /* the chunks after the image, for their CRC, up to IEND */
    p->tail_end = 0;
    png_read_end(p->png, p->info);
}


/* PIL's palette starts as a grey ramp: an index past PLTE is i,i,i */

static void
infer_png_pad_palette(infer_png_t *p)
{
    int          i, n, full;
    png_color    pad[256];
    png_colorp   plte;

    if (png_get_color_type(p->png, p->info) != PNG_COLOR_TYPE_PALETTE
        || png_get_PLTE(p->png, p->info, &plte, &n) == 0)
    {
        return;
    }

    full = 1 << png_get_bit_depth(p->png, p->info);

    if (n >= full) {
        return;
    }

    memcpy(pad, plte, n * sizeof(png_color));

    for (i = n; i < full; i++) {
        pad[i].red = (png_byte) i;
        pad[i].green = (png_byte) i;
        pad[i].blue = (png_byte) i;
    }

    png_set_PLTE(p->png, p->info, pad, full);
}


static void
infer_png_transform(infer_png_t *p)
{
    int  type, depth;

    type = png_get_color_type(p->png, p->info);
    depth = png_get_bit_depth(p->png, p->info);

    if (type == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(p->png);
    }

    if ((type & PNG_COLOR_MASK_COLOR) == 0) {
        if (depth < 8) {
            png_set_expand_gray_1_2_4_to_8(p->png);
        }

        png_set_gray_to_rgb(p->png);
    }

    /* also the alpha that palette_to_rgb makes of a tRNS */
    png_set_strip_alpha(p->png);

    if (depth == 16) {
        png_set_scale_16(p->png);
    }
}


static void
infer_png_fail(infer_png_t *p, int rc, infer_image_reason_e reason,
    const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    vsnprintf(p->e->msg, sizeof(p->e->msg), fmt, args);
    va_end(args);

    p->e->reason = reason;
    p->rc = rc;

    png_longjmp(p->png, 1);
}


static void
infer_png_read(png_structp png, png_bytep out, size_t n)
{
    infer_png_t  *p;

    p = png_get_io_ptr(png);

    if (n > p->len - p->pos) {
        p->truncated = 1;
        png_error(png, "truncated");
    }

    if (p->tail_end != 0 && p->pos + n > p->tail_end) {
        p->too_much = 1;
        png_error(png, "too much image data");
    }

    memcpy(out, p->data + p->pos, n);
    p->pos += n;
}


static void
infer_png_error(png_structp png, png_const_charp msg)
{
    infer_png_t  *p;

    p = png_get_error_ptr(png);

    if (p->oom) {
        infer_png_fail(p, INFER_ERROR, INFER_IMAGE_OK,
                       "out of memory decoding the PNG: %s", msg);
    }

    if (p->truncated) {
        infer_png_fail(p, INFER_EINVAL, INFER_IMAGE_CORRUPT,
                       "the PNG is truncated");
    }

    if (p->over_side) {
        infer_png_fail(p, INFER_EINVAL, INFER_IMAGE_TOO_LARGE,
                       "the image is too large: %ux%u pixels, over %u a side",
                       (unsigned) png_get_image_width(png, p->info),
                       (unsigned) png_get_image_height(png, p->info),
                       (unsigned) INFER_PNG_MAX_SIDE);
    }

    if (p->too_much) {
        infer_png_fail(p, INFER_EINVAL, INFER_IMAGE_CORRUPT,
                       "the PNG is corrupt: more image data than its size");
    }

    infer_png_fail(p, INFER_EINVAL, INFER_IMAGE_CORRUPT,
                   "the PNG is corrupt: %s", msg);
}


/*
 * Warnings go on (an iCCP profile libpng dislikes is common), but for a
 * CRC, which is never let through, and the side limit of the IHDR, which
 * libpng reports as a warning before its "Invalid IHDR data".
 */

static void
infer_png_warning(png_structp png, png_const_charp msg)
{
    infer_png_t  *p;

    p = png_get_error_ptr(png);

    if (strstr(msg, "CRC") != NULL) {
        infer_png_error(png, msg);
    }

    if (strstr(msg, "exceeds user limit") != NULL) {
        p->over_side = 1;
    }
}


static png_voidp
infer_png_malloc(png_structp png, png_alloc_size_t size)
{
    void         *m;
    infer_png_t  *p;

    m = malloc(size);

    if (m == NULL) {
        p = png_get_mem_ptr(png);
        p->oom = 1;
    }

    return m;
}


static void
infer_png_free(png_structp png, png_voidp ptr)
{
    (void) png;

    free(ptr);
}
