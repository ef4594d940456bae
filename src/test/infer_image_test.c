/*
 * The JPEG and PNG decoders, on images made here with libjpeg and libpng:
 * every PNG colour type and depth, palettes with tRNS and short ones,
 * 16 bits (all 65536 values against round(v / 257)), Adam7, to the exact
 * pixel PIL's convert("RGB") gives; JPEGs at three qualities, three
 * samplings, progressive and grey, equal to libjpeg's own default decode.
 * Then each refusal and its reason: empty, the wrong type, truncations,
 * bad CRCs, a CMYK JPEG, dimensions over the limit (refused before any
 * pixel memory: ASan would abort on a 30 GB malloc), too little and too
 * much IDAT data; and decodes on four threads at once.
 */

#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "infer_image.h"
#include "infer_unit_test.h"


#define MAX_PIXELS  (1 << 24)


typedef struct {
    unsigned char        *data;
    size_t                len;
    size_t                cap;
} img_buf_t;


typedef struct {
    uint32_t              w;
    uint32_t              h;
    int                   type;      /* PNG_COLOR_TYPE_* */
    int                   depth;
    int                   interlace;
    const unsigned char  *rows;      /* as stored: packed, big-endian */
    int                   nplte;     /* entries of plte_entry() */
    int                   ntrns;     /* palette: entries; else a colour */
    int                   text;      /* a tEXt before IDAT and one after */
} png_spec_t;


typedef struct {
    const unsigned char  *jpeg;
    size_t                jpeg_len;
    const unsigned char  *jpeg_rgb;
    const unsigned char  *png;
    size_t                png_len;
    const unsigned char  *png_rgb;
    uint32_t              w;
    uint32_t              h;
    int                   failed;
} thread_job_t;


static void buf_append(img_buf_t *b, const void *data, size_t len);
static void png_write_cb(png_structp png, png_bytep data, size_t len);
static void png_flush_cb(png_structp png);
static png_color plte_entry(int i);
static size_t png_rowbytes(const png_spec_t *s);
static int make_png(const png_spec_t *s, img_buf_t *out);
static void expect_png(const png_spec_t *s, unsigned char *rgb);
static void raw_chunk(img_buf_t *out, const char *type,
    const unsigned char *data, size_t len);
static void raw_png(img_buf_t *out, uint32_t w, uint32_t h, int depth,
    int type, const unsigned char *plte, size_t plte_len,
    const unsigned char *idat, size_t idat_len);
static size_t find_chunk(const img_buf_t *b, const char *type,
    size_t from);
static void fix_crc(unsigned char *chunk);
static void pattern(unsigned char *p, size_t n, unsigned seed);
static void smooth(unsigned char *p, uint32_t w, uint32_t h, int comps);
static unsigned char *make_jpeg(const unsigned char *pix, uint32_t w,
    uint32_t h, int comps, J_COLOR_SPACE in, J_COLOR_SPACE space,
    int quality, int hs, int vs, int progressive, size_t *len);
static void ref_jpeg(const unsigned char *data, size_t len,
    J_COLOR_SPACE out, unsigned char *pix);
static int decode(const unsigned char *data, size_t len,
    infer_image_type_e declared, infer_image_info_t *info,
    unsigned char **rgb, infer_image_error_t *e);
static int refused(const unsigned char *data, size_t len,
    infer_image_type_e declared, infer_image_reason_e reason,
    const char *part);
static int msg_ok(const char *msg);
static void check_png(const char *name, const png_spec_t *s);
static void test_names(void);
static void test_type(void);
static void test_png_types(void);
static void test_png_16(void);
static void test_png_refusals(void);
static void test_png_idat(void);
static void test_png_crc(void);
static void test_png_large(void);
static void test_jpeg(void);
static void test_jpeg_refusals(void);
static void *thread_run(void *arg);
static void test_threads(void);


void
infer_test_image(void)
{
    test_names();
    test_type();
    test_png_types();
    test_png_16();
    test_png_refusals();
    test_png_idat();
    test_png_crc();
    test_png_large();
    test_jpeg();
    test_jpeg_refusals();
    test_threads();
}


static void
buf_append(img_buf_t *b, const void *data, size_t len)
{
    if (len == 0) {
        return;
    }

    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2;
        b->data = realloc(b->data, b->cap);

        if (b->data == NULL) {
            abort();
        }
    }

    memcpy(b->data + b->len, data, len);
    b->len += len;
}


static void
png_write_cb(png_structp png, png_bytep data, size_t len)
{
    buf_append(png_get_io_ptr(png), data, len);
}


static void
png_flush_cb(png_structp png)
{
    (void) png;
}


static png_color
plte_entry(int i)
{
    png_color  c;

    c.red = (png_byte) (i * 37 + 11);
    c.green = (png_byte) (i * 91 + 3);
    c.blue = (png_byte) (255 - i * 13);

    return c;
}


static size_t
png_rowbytes(const png_spec_t *s)
{
    static const int  channels[7] = { 1, 0, 3, 1, 2, 0, 4 };

    return ((size_t) s->w * channels[s->type] * s->depth + 7) / 8;
}


static int
make_png(const png_spec_t *s, img_buf_t *out)
{
    int             i;
    png_text        text;
    png_byte        trns[256];
    png_infop       info;
    png_color       plte[256];
    png_bytep      *rows;
    png_structp     png;
    png_color_16    colour;

    out->len = 0;
    rows = malloc(s->h * sizeof(png_bytep));
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    info = png_create_info_struct(png);

    if (rows == NULL || png == NULL || info == NULL) {
        abort();
    }

    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        return -1;
    }

    png_set_write_fn(png, out, png_write_cb, png_flush_cb);
    png_set_compression_level(png, Z_BEST_SPEED);
    png_set_check_for_invalid_index(png, 0);
    png_set_IHDR(png, info, s->w, s->h, s->depth, s->type,
                 s->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);

    for (i = 0; i < s->nplte; i++) {
        plte[i] = plte_entry(i);
        trns[i] = (png_byte) (i * 50);
    }

    if (s->nplte) {
        png_set_PLTE(png, info, plte, s->nplte);
    }

    memset(&colour, 0, sizeof(colour));
    colour.red = colour.green = colour.blue = colour.gray = 1;

    if (s->ntrns) {
        png_set_tRNS(png, info, trns, s->ntrns,
                     s->type == PNG_COLOR_TYPE_PALETTE ? NULL : &colour);
    }

    memset(&text, 0, sizeof(text));
    text.compression = PNG_TEXT_COMPRESSION_NONE;
    text.key = "Comment";
    text.text = "written before the image";

    if (s->text) {
        png_set_text(png, info, &text, 1);
    }

    for (i = 0; i < (int) s->h; i++) {
        rows[i] = (png_bytep) s->rows + i * png_rowbytes(s);
    }

    png_write_info(png, info);
    png_set_interlace_handling(png);
    png_write_image(png, rows);

    if (s->text) {
        text.key = "Title";
        text.text = "written after the image";
        png_set_text(png, info, &text, 1);
    }

    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);

    return 0;
}


/* the pixels PIL's convert("RGB") gives, from the samples as stored */

static void
expect_png(const png_spec_t *s, unsigned char *rgb)
{
    int                   c, n, max;
    uint32_t              x, y, v, bit;
    png_color             p;
    const unsigned char  *row;

    n = (s->type & PNG_COLOR_MASK_COLOR) && s->type != PNG_COLOR_TYPE_PALETTE
        ? 3 : 1;
    n += (s->type & PNG_COLOR_MASK_ALPHA) ? 1 : 0;
    max = (1 << s->depth) - 1;

    for (y = 0; y < s->h; y++) {
        row = s->rows + y * png_rowbytes(s);

        for (x = 0; x < s->w; x++) {
            for (c = 0; c < 3; c++) {
                bit = (x * n + (n == 1 || n == 2 ? 0 : c)) * s->depth;

                if (s->depth == 16) {
                    v = row[bit / 8] << 8 | row[bit / 8 + 1];
                    v = (v + 128) / 257;

                } else {
                    v = (row[bit / 8] >> (8 - s->depth - bit % 8)) & max;
                }

                if (s->type == PNG_COLOR_TYPE_PALETTE) {
                    p = plte_entry(v);
                    v = (int) v >= s->nplte ? v
                        : c == 0 ? p.red : c == 1 ? p.green : p.blue;

                } else if (s->depth < 8) {
                    v = v * 255 / max;
                }

                *rgb++ = (unsigned char) v;
            }
        }
    }
}


static void
raw_chunk(img_buf_t *out, const char *type, const unsigned char *data,
    size_t len)
{
    unsigned char  be[4];
    uLong          crc;

    be[0] = len >> 24; be[1] = len >> 16; be[2] = len >> 8; be[3] = len;
    buf_append(out, be, 4);
    buf_append(out, type, 4);
    buf_append(out, data, len);

    /* crc32() of NULL is its initial value, not the CRC so far */
    crc = crc32(0, (const Bytef *) type, 4);
    crc = len ? crc32(crc, data, len) : crc;
    be[0] = crc >> 24; be[1] = crc >> 16; be[2] = crc >> 8; be[3] = crc;
    buf_append(out, be, 4);
}


static void
raw_png(img_buf_t *out, uint32_t w, uint32_t h, int depth, int type,
    const unsigned char *plte, size_t plte_len, const unsigned char *idat,
    size_t idat_len)
{
    unsigned char  ihdr[13];

    ihdr[0] = w >> 24; ihdr[1] = w >> 16; ihdr[2] = w >> 8; ihdr[3] = w;
    ihdr[4] = h >> 24; ihdr[5] = h >> 16; ihdr[6] = h >> 8; ihdr[7] = h;
    ihdr[8] = depth; ihdr[9] = type;
    ihdr[10] = ihdr[11] = ihdr[12] = 0;

    out->len = 0;
    buf_append(out, "\x89PNG\r\n\x1a\n", 8);
    raw_chunk(out, "IHDR", ihdr, 13);

    if (plte_len) {
        raw_chunk(out, "PLTE", plte, plte_len);
    }

    raw_chunk(out, "IDAT", idat, idat_len);
    raw_chunk(out, "IEND", NULL, 0);
}


/* the offset of the first chunk type at or past from, 0 if none */

static size_t
find_chunk(const img_buf_t *b, const char *type, size_t from)
{
    size_t  at, len;

    for (at = 8; at + 12 <= b->len; at += len + 12) {
        len = (size_t) b->data[at] << 24 | b->data[at + 1] << 16
              | b->data[at + 2] << 8 | b->data[at + 3];

        if (at >= from && memcmp(b->data + at + 4, type, 4) == 0) {
            return at;
        }
    }

    return 0;
}


static void
fix_crc(unsigned char *chunk)
{
    size_t  len;
    uLong   crc;

    len = (size_t) chunk[0] << 24 | chunk[1] << 16 | chunk[2] << 8
          | chunk[3];
    crc = crc32(0, chunk + 4, len + 4);

    chunk[8 + len] = crc >> 24;
    chunk[9 + len] = crc >> 16;
    chunk[10 + len] = crc >> 8;
    chunk[11 + len] = crc;
}


static void
pattern(unsigned char *p, size_t n, unsigned seed)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        seed = seed * 1103515245 + 12345;
        p[i] = (unsigned char) (seed >> 16);
    }
}


/* gradients with some texture: what JPEG is for, and odd sizes */

static void
smooth(unsigned char *p, uint32_t w, uint32_t h, int comps)
{
    int       c;
    uint32_t  x, y;

    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            for (c = 0; c < comps; c++) {
                *p++ = (unsigned char) ((x * (c + 3) * 255 / w
                                         + y * (5 - c) * 255 / h) / 6
                                        + ((x ^ y) & 7) * 4 * (c == 1));
            }
        }
    }
}


static unsigned char *
make_jpeg(const unsigned char *pix, uint32_t w, uint32_t h, int comps,
    J_COLOR_SPACE in, J_COLOR_SPACE space, int quality, int hs, int vs,
    int progressive, size_t *len)
{
    unsigned char                *out;
    unsigned long                 size;
    JSAMPROW                      row;
    struct jpeg_error_mgr         jerr;
    struct jpeg_compress_struct   c;

    out = NULL;
    size = 0;

    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &size);

    c.image_width = w;
    c.image_height = h;
    c.input_components = comps;
    c.in_color_space = in;

    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, space);
    jpeg_set_quality(&c, quality, TRUE);

    c.comp_info[0].h_samp_factor = hs;
    c.comp_info[0].v_samp_factor = vs;

    if (progressive) {
        jpeg_simple_progression(&c);
    }

    jpeg_start_compress(&c, TRUE);

    while (c.next_scanline < h) {
        row = (JSAMPROW) pix + (size_t) c.next_scanline * w * comps;
        jpeg_write_scanlines(&c, &row, 1);
    }

    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);

    *len = size;

    return out;
}


/* libjpeg's defaults, without the module: the reference */

static void
ref_jpeg(const unsigned char *data, size_t len, J_COLOR_SPACE out,
    unsigned char *pix)
{
    JSAMPROW                        row;
    struct jpeg_error_mgr           jerr;
    struct jpeg_decompress_struct   d;

    d.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, data, len);
    jpeg_read_header(&d, TRUE);
    d.out_color_space = out;
    jpeg_start_decompress(&d);

    while (d.output_scanline < d.output_height) {
        row = pix + (size_t) d.output_scanline * d.output_width
                    * d.output_components;
        jpeg_read_scanlines(&d, &row, 1);
    }

    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
}


/* header then decode, as the module does; *rgb is the caller's to free */

static int
decode(const unsigned char *data, size_t len, infer_image_type_e declared,
    infer_image_info_t *info, unsigned char **rgb, infer_image_error_t *e)
{
    int  rc;

    *rgb = NULL;

    rc = infer_image_header(data, len, declared, MAX_PIXELS, info, e);
    if (rc != INFER_OK) {
        return rc;
    }

    *rgb = malloc((size_t) info->width * info->height * 3);
    if (*rgb == NULL) {
        abort();
    }

    return infer_image_decode(data, len, info, *rgb, e);
}


/* refused at the header or the decode, for reason, part in the message */

static int
refused(const unsigned char *data, size_t len, infer_image_type_e declared,
    infer_image_reason_e reason, const char *part)
{
    int                  rc;
    unsigned char       *rgb;
    infer_image_info_t   info;
    infer_image_error_t  e;

    rc = decode(data, len, declared, &info, &rgb, &e);
    free(rgb);

    if (rc != INFER_EINVAL || e.reason != reason || !msg_ok(e.msg)
        || strstr(e.msg, part) == NULL)
    {
        printf("# refused: rc %d, reason %s, \"%s\", want %s \"%s\"\n", rc,
               infer_image_reason_name(e.reason), e.msg,
               infer_image_reason_name(reason), part);
        return 0;
    }

    return 1;
}


/* short, lower-case, plain ASCII */

static int
msg_ok(const char *msg)
{
    const char  *p;

    if (msg[0] < 'a' || msg[0] > 'z') {
        return 0;
    }

    for (p = msg; *p; p++) {
        if (*p < 0x20 || *p > 0x7e) {
            return 0;
        }
    }

    return p - msg < INFER_ERRLEN;
}


static void
check_png(const char *name, const png_spec_t *s)
{
    int                  rc, same;
    img_buf_t            b;
    unsigned char       *rgb, *want;
    infer_image_info_t   info;
    infer_image_error_t  e;

    memset(&b, 0, sizeof(b));
    want = malloc((size_t) s->w * s->h * 3);

    CHECK(make_png(s, &b) == 0);
    expect_png(s, want);

    rc = decode(b.data, b.len, INFER_IMAGE_PNG, &info, &rgb, &e);
    same = rc == INFER_OK
           && memcmp(rgb, want, (size_t) s->w * s->h * 3) == 0;

    if (!same) {
        printf("# png %s: rc %d \"%s\"\n", name, rc, e.msg);
    }

    CHECK(same);
    CHECK(info.type == INFER_IMAGE_PNG && info.width == s->w
          && info.height == s->h && info.bit_depth == (unsigned) s->depth);

    free(rgb);
    free(want);
    free(b.data);
}


static void
test_names(void)
{
    CHECK_STR(infer_image_type_name(INFER_IMAGE_JPEG), "jpeg");
    CHECK_STR(infer_image_type_name(INFER_IMAGE_PNG), "png");
    CHECK_STR(infer_image_type_name(INFER_IMAGE_NONE), "none");
    CHECK_STR(infer_image_reason_name(INFER_IMAGE_EMPTY), "empty");
    CHECK_STR(infer_image_reason_name(INFER_IMAGE_WRONG_TYPE), "wrong_type");
    CHECK_STR(infer_image_reason_name(INFER_IMAGE_TOO_LARGE), "too_large");
    CHECK_STR(infer_image_reason_name(INFER_IMAGE_CORRUPT), "corrupt");
    CHECK_STR(infer_image_reason_name(INFER_IMAGE_COLORSPACE), "colorspace");
}


static void
test_type(void)
{
    size_t          len;
    unsigned char  *jpeg, pix[8 * 8 * 3];
    img_buf_t       png;
    png_spec_t      s;

    static const unsigned char  gif[] = "GIF89a\x01\x00\x01\x00\x80\x00";

    CHECK(infer_image_sniff((const unsigned char *) "\xff\xd8\xff", 3)
          == INFER_IMAGE_JPEG);
    CHECK(infer_image_sniff((const unsigned char *) "\xff\xd8", 2)
          == INFER_IMAGE_NONE);
    CHECK(infer_image_sniff((const unsigned char *) "\x89PNG\r\n\x1a\n", 8)
          == INFER_IMAGE_PNG);
    CHECK(infer_image_sniff((const unsigned char *) "\x89PNG\r\n\x1a", 7)
          == INFER_IMAGE_NONE);
    CHECK(infer_image_sniff(gif, sizeof(gif) - 1) == INFER_IMAGE_NONE);

    CHECK(refused(NULL, 0, INFER_IMAGE_NONE, INFER_IMAGE_EMPTY, "empty"));
    CHECK(refused(NULL, 0, INFER_IMAGE_JPEG, INFER_IMAGE_EMPTY, "empty"));
    CHECK(refused(gif, sizeof(gif) - 1, INFER_IMAGE_JPEG,
                  INFER_IMAGE_WRONG_TYPE, "not a JPEG image but a GIF"));
    CHECK(refused(gif, sizeof(gif) - 1, INFER_IMAGE_NONE,
                  INFER_IMAGE_WRONG_TYPE, "not a JPEG or PNG image"));
    CHECK(refused((const unsigned char *) "{\"x\": 1}", 8, INFER_IMAGE_NONE,
                  INFER_IMAGE_WRONG_TYPE, "not a JPEG or PNG image"));

    pattern(pix, sizeof(pix), 1);
    jpeg = make_jpeg(pix, 8, 8, 3, JCS_RGB, JCS_YCbCr, 90, 2, 2, 0, &len);

    memset(&s, 0, sizeof(s));
    memset(&png, 0, sizeof(png));
    s.w = 8; s.h = 8; s.type = PNG_COLOR_TYPE_RGB; s.depth = 8; s.rows = pix;
    CHECK(make_png(&s, &png) == 0);

    CHECK(refused(png.data, png.len, INFER_IMAGE_JPEG,
                  INFER_IMAGE_WRONG_TYPE, "not a JPEG image but a PNG"));
    CHECK(refused(jpeg, len, INFER_IMAGE_PNG,
                  INFER_IMAGE_WRONG_TYPE, "not a PNG image but a JPEG"));

    free(jpeg);
    free(png.data);
}


static void
test_png_types(void)
{
    size_t         i;
    png_spec_t     s;
    unsigned char  rows[31 * 17 * 8];

    static const struct {
        const char  *name;
        int          type, depth, interlace, nplte, ntrns, text;
        uint32_t     w, h;
    } cases[] = {
        { "rgb", PNG_COLOR_TYPE_RGB, 8, 0, 0, 0, 0, 31, 17 },
        { "rgb text", PNG_COLOR_TYPE_RGB, 8, 0, 0, 0, 1, 5, 3 },
        { "rgb trns", PNG_COLOR_TYPE_RGB, 8, 0, 0, 1, 0, 7, 5 },
        { "rgba", PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, 0, 0, 0, 31, 17 },
        { "gray", PNG_COLOR_TYPE_GRAY, 8, 0, 0, 0, 0, 31, 17 },
        { "gray trns", PNG_COLOR_TYPE_GRAY, 8, 0, 0, 1, 0, 9, 4 },
        { "gray alpha", PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0, 0, 0, 31, 17 },
        { "gray 1", PNG_COLOR_TYPE_GRAY, 1, 0, 0, 0, 0, 13, 3 },
        { "gray 2", PNG_COLOR_TYPE_GRAY, 2, 0, 0, 0, 0, 13, 3 },
        { "gray 4", PNG_COLOR_TYPE_GRAY, 4, 0, 0, 0, 0, 13, 3 },
        { "gray 1 trns", PNG_COLOR_TYPE_GRAY, 1, 0, 0, 1, 0, 13, 3 },
        { "palette trns", PNG_COLOR_TYPE_PALETTE, 8, 0, 256, 7, 0, 31, 17 },
        { "palette short", PNG_COLOR_TYPE_PALETTE, 8, 0, 5, 3, 0, 31, 17 },
        { "palette 1", PNG_COLOR_TYPE_PALETTE, 1, 0, 2, 1, 0, 13, 3 },
        { "palette 2", PNG_COLOR_TYPE_PALETTE, 2, 0, 3, 2, 0, 13, 3 },
        { "palette 4", PNG_COLOR_TYPE_PALETTE, 4, 0, 16, 16, 0, 13, 3 },
        { "rgb 16", PNG_COLOR_TYPE_RGB, 16, 0, 0, 0, 0, 31, 17 },
        { "rgba 16", PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, 0, 0, 0, 31, 17 },
        { "gray alpha 16", PNG_COLOR_TYPE_GRAY_ALPHA, 16, 0, 0, 0, 0, 9, 4 },
        { "adam7 rgb", PNG_COLOR_TYPE_RGB, 8, 1, 0, 0, 0, 31, 17 },
        { "adam7 rgba 16", PNG_COLOR_TYPE_RGB_ALPHA, 16, 1, 0, 0, 0, 13, 11 },
        { "adam7 gray 1", PNG_COLOR_TYPE_GRAY, 1, 1, 0, 0, 0, 13, 11 },
        { "adam7 palette", PNG_COLOR_TYPE_PALETTE, 4, 1, 16, 4, 0, 9, 10 },
        { "adam7 1x1", PNG_COLOR_TYPE_RGB, 8, 1, 0, 0, 0, 1, 1 },
        { "adam7 2x9", PNG_COLOR_TYPE_GRAY, 8, 1, 0, 0, 1, 2, 9 },
        { "adam7 9x2", PNG_COLOR_TYPE_GRAY_ALPHA, 8, 1, 0, 0, 0, 9, 2 },
    };

    pattern(rows, sizeof(rows), 7);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&s, 0, sizeof(s));
        s.w = cases[i].w;
        s.h = cases[i].h;
        s.type = cases[i].type;
        s.depth = cases[i].depth;
        s.interlace = cases[i].interlace;
        s.rows = rows;
        s.nplte = cases[i].nplte;
        s.ntrns = cases[i].ntrns;
        s.text = cases[i].text;

        check_png(cases[i].name, &s);
    }
}


/* every 16-bit value: round(v / 257), grey and RGB, plain and Adam7 */

static void
test_png_16(void)
{
    int             i;
    uint32_t        v;
    png_spec_t      s;
    unsigned char  *rows, *p;

    rows = malloc(256 * 256 * 6);

    for (i = 0; i < 4; i++) {
        memset(&s, 0, sizeof(s));
        s.w = 256;
        s.h = 256;
        s.type = (i & 1) ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY;
        s.depth = 16;
        s.interlace = i >> 1;
        s.rows = rows;

        for (p = rows, v = 0; v < 65536; v++) {
            *p++ = v >> 8;
            *p++ = v;

            if (s.type == PNG_COLOR_TYPE_RGB) {
                *p++ = (65535 - v) >> 8;
                *p++ = 65535 - v;
                *p++ = (v * 31) >> 8;
                *p++ = v * 31;
            }
        }

        check_png(i & 1 ? "16 rgb all" : "16 gray all", &s);
    }

    free(rows);
}


static void
test_png_refusals(void)
{
    size_t          at, cuts[6];
    img_buf_t       b;
    png_spec_t      s;
    unsigned char   rows[40 * 30 * 3];
    unsigned char  *copy;
    unsigned        i;

    memset(&s, 0, sizeof(s));
    memset(&b, 0, sizeof(b));
    pattern(rows, sizeof(rows), 3);

    s.w = 40; s.h = 30; s.type = PNG_COLOR_TYPE_RGB; s.depth = 8;
    s.rows = rows; s.text = 1;
    CHECK(make_png(&s, &b) == 0);

    copy = malloc(b.len);

    /* cut in IHDR, before IDAT, in IDAT, in IEND's CRC, IEND missing */
    cuts[0] = 8;
    cuts[1] = 20;
    cuts[2] = find_chunk(&b, "IDAT", 0) + 4;
    cuts[3] = b.len / 2;
    cuts[4] = b.len - 1;
    cuts[5] = b.len - 12;

    for (i = 0; i < 6; i++) {
        CHECK(refused(b.data, cuts[i], INFER_IMAGE_PNG, INFER_IMAGE_CORRUPT,
                      "the PNG is truncated"));
    }

    /* a flipped byte in: IDAT, tEXt before it, tEXt after it, IHDR */
    at = find_chunk(&b, "IDAT", 0);
    memcpy(copy, b.data, b.len);
    copy[at + 8 + 10] ^= 0x10;
    /* zlib's check of the stream, when it ends in the last row, comes
       before libpng's of the chunk: either says it */
    CHECK(refused(copy, b.len, INFER_IMAGE_PNG, INFER_IMAGE_CORRUPT,
                  "the PNG is corrupt: IDAT: "));

    /* and with its CRC made right: zlib finds it */
    fix_crc(copy + at);
    CHECK(refused(copy, b.len, INFER_IMAGE_NONE, INFER_IMAGE_CORRUPT,
                  "the PNG is corrupt"));

    at = find_chunk(&b, "tEXt", 0);
    memcpy(copy, b.data, b.len);
    copy[at + 8 + 3] ^= 0x01;
    CHECK(refused(copy, b.len, INFER_IMAGE_PNG, INFER_IMAGE_CORRUPT,
                  "tEXt: CRC error"));

    /* the same byte of the one after IDAT */
    at = find_chunk(&b, "tEXt", find_chunk(&b, "IDAT", 0));
    CHECK(at != 0);
    memcpy(copy, b.data, b.len);
    copy[at + 8 + 3] ^= 0x01;
    CHECK(refused(copy, b.len, INFER_IMAGE_PNG, INFER_IMAGE_CORRUPT,
                  "tEXt: CRC error"));

    memcpy(copy, b.data, b.len);
    copy[8 + 8 + 1] ^= 0x01;
    CHECK(refused(copy, b.len, INFER_IMAGE_PNG, INFER_IMAGE_CORRUPT,
                  "IHDR: CRC error"));

    /* a bad CRC on an unknown, safe-to-copy chunk: still refused */
    memcpy(copy, b.data, b.len);
    memcpy(copy + find_chunk(&b, "tEXt", 0) + 4, "prVt", 4);
    CHECK(refused(copy, b.len, INFER_IMAGE_PNG, INFER_IMAGE_CORRUPT,
                  "prVt: CRC error"));

    /* a bad IHDR (colour type 5) with a good CRC */
    memcpy(copy, b.data, b.len);
    copy[8 + 8 + 9] = 5;
    fix_crc(copy + 8);
    CHECK(refused(copy, b.len, INFER_IMAGE_PNG, INFER_IMAGE_CORRUPT,
                  "the PNG is corrupt"));

    free(copy);
    free(b.data);
}


/* IDAT with too few rows, more rows than declared, a long stored tail */

static void
test_png_idat(void)
{
    int                  rc;
    uLong                zlen;
    size_t               i;
    z_stream             z;
    img_buf_t            b;
    unsigned char        raw[8 * 5], *z_data, *rgb, *tail;
    infer_image_info_t   info;
    infer_image_error_t  e;

    memset(&b, 0, sizeof(b));

    /* an 4x4 grey image: 5 bytes a row, filter 0; 8 rows' worth */
    for (i = 0; i < sizeof(raw); i++) {
        raw[i] = (i % 5 == 0) ? 0 : (unsigned char) (i * 11);
    }

    zlen = compressBound(sizeof(raw));
    z_data = malloc(zlen);

    CHECK(compress(z_data, &zlen, raw, 2 * 5) == Z_OK);
    raw_png(&b, 4, 4, 8, PNG_COLOR_TYPE_GRAY, NULL, 0, z_data, zlen);
    CHECK(refused(b.data, b.len, INFER_IMAGE_PNG, INFER_IMAGE_CORRUPT,
                  "Not enough image data"));

    /* twice the rows: libpng takes the four declared (a warning) */
    zlen = compressBound(sizeof(raw));
    CHECK(compress(z_data, &zlen, raw, sizeof(raw)) == Z_OK);
    raw_png(&b, 4, 4, 8, PNG_COLOR_TYPE_GRAY, NULL, 0, z_data, zlen);
    rc = decode(b.data, b.len, INFER_IMAGE_PNG, &info, &rgb, &e);
    CHECK(rc == INFER_OK && rgb[3 * 5] == raw[7] && rgb[47] == raw[19]);
    free(rgb);

    /* a 1x1 image and 1 MB more, stored: refused before it is inflated */
    tail = calloc(1, 1 << 20);
    z_data = realloc(z_data, (1 << 20) + 4096);
    memset(&z, 0, sizeof(z));
    CHECK(deflateInit(&z, 0) == Z_OK);
    z.next_in = tail;
    z.avail_in = 1 << 20;
    z.next_out = z_data;
    z.avail_out = (1 << 20) + 4096;
    CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
    raw_png(&b, 1, 1, 8, PNG_COLOR_TYPE_GRAY, NULL, 0, z_data, z.total_out);
    deflateEnd(&z);
    CHECK(refused(b.data, b.len, INFER_IMAGE_PNG, INFER_IMAGE_CORRUPT,
                  "more image data than its size"));

    free(tail);
    free(z_data);
    free(b.data);
}


/* a flipped byte in the first of several IDATs: stored, zlib sees nothing */

static void
test_png_crc(void)
{
    size_t          at;
    img_buf_t       b;
    png_spec_t      s;
    unsigned char  *rows;

    memset(&s, 0, sizeof(s));
    memset(&b, 0, sizeof(b));
    rows = malloc(100 * 100 * 3);
    pattern(rows, 100 * 100 * 3, 9);

    s.w = 100; s.h = 100; s.type = PNG_COLOR_TYPE_RGB; s.depth = 8;
    s.rows = rows;
    CHECK(make_png(&s, &b) == 0);

    at = find_chunk(&b, "IDAT", 0);
    CHECK(find_chunk(&b, "IDAT", at + 1) != 0);
    b.data[at + 8 + 100] ^= 0x01;

    CHECK(refused(b.data, b.len, INFER_IMAGE_PNG, INFER_IMAGE_CORRUPT,
                  "the PNG is corrupt: IDAT: CRC error"));

    free(rows);
    free(b.data);
}


/* over max_pixels, over libpng's side limit: refused at the header */

static void
test_png_large(void)
{
    int                  rc;
    img_buf_t            b;
    png_spec_t           s;
    unsigned char        rows[4 * 4 * 3];
    infer_image_info_t   info;
    infer_image_error_t  e;

    memset(&s, 0, sizeof(s));
    memset(&b, 0, sizeof(b));
    pattern(rows, sizeof(rows), 5);

    s.w = 4; s.h = 4; s.type = PNG_COLOR_TYPE_RGB; s.depth = 8; s.rows = rows;
    CHECK(make_png(&s, &b) == 0);

    /* 100000 x 100000, CRC right */
    b.data[16] = 0; b.data[17] = 1; b.data[18] = 0x86; b.data[19] = 0xa0;
    b.data[20] = 0; b.data[21] = 1; b.data[22] = 0x86; b.data[23] = 0xa0;
    fix_crc(b.data + 8);

    CHECK(refused(b.data, b.len, INFER_IMAGE_PNG, INFER_IMAGE_TOO_LARGE,
                  "100000x100000 pixels, over the limit of 16777216"));

    rc = infer_image_header(b.data, b.len, INFER_IMAGE_PNG, 1ULL << 34,
                            &info, &e);
    CHECK(rc == INFER_OK && info.width == 100000 && info.height == 100000);

    /* 2^21 x 1: past the side limit, whatever max_pixels says */
    b.data[16] = 0; b.data[17] = 0x20; b.data[18] = 0; b.data[19] = 0;
    b.data[20] = 0; b.data[21] = 0; b.data[22] = 0; b.data[23] = 1;
    fix_crc(b.data + 8);

    rc = infer_image_header(b.data, b.len, INFER_IMAGE_NONE, 1ULL << 34,
                            &info, &e);
    CHECK(rc == INFER_EINVAL && e.reason == INFER_IMAGE_TOO_LARGE
          && strstr(e.msg, "2097152x1 pixels") != NULL && msg_ok(e.msg));

    free(b.data);
}


static void
test_jpeg(void)
{
    int                  rc, q, m, same;
    long                 diff;
    size_t               len, i, n;
    unsigned char        pix[29 * 23 * 3], *jpeg, *rgb, want[29 * 23 * 3];
    unsigned char        grey[29 * 23];
    infer_image_info_t   info;
    infer_image_error_t  e;

    static const int  quality[] = { 50, 90, 100 };
    static const int  sampling[][3] = {     /* h, v, progressive */
        { 1, 1, 0 }, { 2, 1, 0 }, { 2, 2, 0 }, { 2, 2, 1 }, { 1, 2, 0 }
    };

    smooth(pix, 29, 23, 3);
    n = sizeof(pix);

    for (q = 0; q < 3; q++) {
        for (m = 0; m < 5; m++) {
            jpeg = make_jpeg(pix, 29, 23, 3, JCS_RGB, JCS_YCbCr, quality[q],
                             sampling[m][0], sampling[m][1], sampling[m][2],
                             &len);
            ref_jpeg(jpeg, len, JCS_RGB, want);

            rc = decode(jpeg, len, INFER_IMAGE_JPEG, &info, &rgb, &e);
            same = rc == INFER_OK && memcmp(rgb, want, n) == 0;

            for (diff = 0, i = 0; same && i < n; i++) {
                diff += abs(rgb[i] - pix[i]);
            }

            /* a sanity bound: R and B swapped are far over it */
            if (!same || diff / (long) n > 14) {
                printf("# jpeg q%d %dx%d: rc %d \"%s\", mean error %ld\n",
                       quality[q], sampling[m][0], sampling[m][1], rc,
                       e.msg, diff / (long) n);
            }

            CHECK(same && diff / (long) n <= 14);
            CHECK(info.type == INFER_IMAGE_JPEG && info.width == 29
                  && info.height == 23 && info.channels == 3
                  && info.bit_depth == 8);

            free(rgb);
            free(jpeg);
        }
    }

    /* grey: R = G = B = libjpeg's grey */
    smooth(grey, 29, 23, 1);
    jpeg = make_jpeg(grey, 29, 23, 1, JCS_GRAYSCALE, JCS_GRAYSCALE, 90, 1, 1,
                     0, &len);
    ref_jpeg(jpeg, len, JCS_GRAYSCALE, grey);

    rc = decode(jpeg, len, INFER_IMAGE_NONE, &info, &rgb, &e);
    same = rc == INFER_OK && info.channels == 1;

    for (i = 0; same && i < sizeof(grey); i++) {
        same = rgb[i * 3] == grey[i] && rgb[i * 3 + 1] == grey[i]
               && rgb[i * 3 + 2] == grey[i];
    }

    CHECK(same);

    /* an info that is not this image's: the caller's bug */
    info.width++;
    CHECK(infer_image_decode(jpeg, len, &info, rgb, &e) == INFER_ERROR);
    info.width--;
    info.type = INFER_IMAGE_PNG;
    CHECK(infer_image_decode(jpeg, len, &info, rgb, &e) == INFER_ERROR);

    free(rgb);
    free(jpeg);

    /* RGB stored as RGB (no YCbCr): Adobe's transform 0 */
    jpeg = make_jpeg(pix, 29, 23, 3, JCS_RGB, JCS_RGB, 95, 1, 1, 0, &len);
    ref_jpeg(jpeg, len, JCS_RGB, want);
    rc = decode(jpeg, len, INFER_IMAGE_JPEG, &info, &rgb, &e);
    CHECK(rc == INFER_OK && memcmp(rgb, want, n) == 0);
    free(rgb);
    free(jpeg);
}


static void
test_jpeg_refusals(void)
{
    size_t          len, cmyk_len, i, at, cuts[7];
    unsigned char   pix[40 * 24 * 4], *jpeg, *cmyk, *copy;

    smooth(pix, 40, 24, 4);

    cmyk = make_jpeg(pix, 40, 24, 4, JCS_CMYK, JCS_CMYK, 90, 1, 1, 0,
                     &cmyk_len);
    CHECK(refused(cmyk, cmyk_len, INFER_IMAGE_JPEG, INFER_IMAGE_COLORSPACE,
                  "colour space is CMYK"));
    free(cmyk);

    cmyk = make_jpeg(pix, 40, 24, 4, JCS_CMYK, JCS_YCCK, 90, 1, 1, 0,
                     &cmyk_len);
    CHECK(refused(cmyk, cmyk_len, INFER_IMAGE_NONE, INFER_IMAGE_COLORSPACE,
                  "colour space is YCCK"));
    free(cmyk);

    smooth(pix, 40, 24, 3);
    jpeg = make_jpeg(pix, 40, 24, 3, JCS_RGB, JCS_YCbCr, 90, 2, 2, 0, &len);
    copy = malloc(len + 64);

    /* in the markers, the tables, the scan, before and in EOI */
    cuts[0] = 3;
    cuts[1] = 20;
    cuts[2] = 200;
    cuts[3] = len / 2;
    cuts[4] = len - 20;
    cuts[5] = len - 2;
    cuts[6] = len - 1;

    for (i = 0; i < 7; i++) {
        CHECK(refused(jpeg, cuts[i], INFER_IMAGE_JPEG, INFER_IMAGE_CORRUPT,
                      "the JPEG is truncated: Premature end of JPEG file"));
    }

    /* junk before EOI: libjpeg's warning of extraneous bytes */
    memcpy(copy, jpeg, len - 2);
    memset(copy + len - 2, 0x55, 64);
    memcpy(copy + len + 62, "\xff\xd9", 2);
    CHECK(refused(copy, len + 64, INFER_IMAGE_JPEG, INFER_IMAGE_CORRUPT,
                  "extraneous bytes before marker 0xd9"));

    /* the SOF says 65000 x 65000: no pixel memory, ASan would see it */
    for (at = 2; at + 9 < len; at++) {
        if (jpeg[at] == 0xff && jpeg[at + 1] == 0xc0) {
            break;
        }
    }

    memcpy(copy, jpeg, len);
    copy[at + 5] = 0xfd; copy[at + 6] = 0xe8;
    copy[at + 7] = 0xfd; copy[at + 8] = 0xe8;
    CHECK(refused(copy, len, INFER_IMAGE_JPEG, INFER_IMAGE_TOO_LARGE,
                  "65000x65000 pixels, over the limit of 16777216"));

    /* a zero height: libjpeg's own refusal */
    memcpy(copy, jpeg, len);
    copy[at + 5] = 0; copy[at + 6] = 0;
    CHECK(refused(copy, len, INFER_IMAGE_JPEG, INFER_IMAGE_CORRUPT,
                  "the JPEG is corrupt: Empty JPEG image"));

    free(copy);
    free(jpeg);
}


static void *
thread_run(void *arg)
{
    thread_job_t  *job = arg;

    int                  i;
    size_t               n;
    unsigned char       *rgb;
    infer_image_info_t   info;
    infer_image_error_t  e;

    n = (size_t) job->w * job->h * 3;

    for (i = 0; i < 20; i++) {
        if (decode(job->jpeg, job->jpeg_len, INFER_IMAGE_JPEG, &info, &rgb,
                   &e)
            != INFER_OK || memcmp(rgb, job->jpeg_rgb, n) != 0)
        {
            job->failed++;
        }

        free(rgb);

        if (decode(job->png, job->png_len, INFER_IMAGE_PNG, &info, &rgb, &e)
            != INFER_OK || memcmp(rgb, job->png_rgb, n) != 0)
        {
            job->failed++;
        }

        free(rgb);
    }

    return NULL;
}


static void
test_threads(void)
{
    int             i, ok;
    size_t          len;
    img_buf_t       b;
    pthread_t       t[4];
    png_spec_t      s;
    thread_job_t    job[4];
    unsigned char   pix[64 * 48 * 3], jpeg_rgb[64 * 48 * 3], *jpeg;
    unsigned char   png_rgb[64 * 48 * 3];

    smooth(pix, 64, 48, 3);
    jpeg = make_jpeg(pix, 64, 48, 3, JCS_RGB, JCS_YCbCr, 85, 2, 2, 1, &len);
    ref_jpeg(jpeg, len, JCS_RGB, jpeg_rgb);

    memset(&s, 0, sizeof(s));
    memset(&b, 0, sizeof(b));
    s.w = 64; s.h = 48; s.type = PNG_COLOR_TYPE_RGB; s.depth = 8;
    s.interlace = 1; s.rows = pix;
    CHECK(make_png(&s, &b) == 0);
    expect_png(&s, png_rgb);

    for (i = 0; i < 4; i++) {
        job[i].jpeg = jpeg;
        job[i].jpeg_len = len;
        job[i].jpeg_rgb = jpeg_rgb;
        job[i].png = b.data;
        job[i].png_len = b.len;
        job[i].png_rgb = png_rgb;
        job[i].w = 64;
        job[i].h = 48;
        job[i].failed = 0;

        CHECK(pthread_create(&t[i], NULL, thread_run, &job[i]) == 0);
    }

    ok = 1;

    for (i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        ok = ok && job[i].failed == 0;
    }

    CHECK(ok);

    free(jpeg);
    free(b.data);
}
