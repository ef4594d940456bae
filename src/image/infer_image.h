/*
 * Images in: a JPEG or PNG body decoded to 8-bit RGB and preprocessed
 * into a model's input tensor, as PIL + torchvision do it:
 *
 *   Image.open(f).convert("RGB") -> Resize -> CenterCrop -> ToTensor
 *   -> Normalize
 *
 * Decoding (infer_image_jpeg.c, infer_image_png.c) uses libjpeg-turbo and
 * libpng with their default, exact settings; resampling
 * (infer_image_resize.c) is Pillow's separable filter in fixed point;
 * infer_image_prep.c chains them.  Nothing here knows nginx, and
 * everything past infer_image_header() may run on a pool thread: it uses
 * only the memory it is given (and the decoders' own malloc()).
 *
 * Decoding is strict and bounded: the header's size is checked against
 * a limit before any pixel memory exists; a warning of libjpeg (premature
 * end of data, corrupt data) is an error; a PNG chunk with a bad CRC is
 * refused.  EXIF orientation is not applied (neither does PIL's open()).
 */

#ifndef INFER_IMAGE_H
#define INFER_IMAGE_H


#include "infer_core.h"


typedef enum {
    INFER_IMAGE_NONE = 0,                    /* not an image we decode */
    INFER_IMAGE_JPEG,
    INFER_IMAGE_PNG
} infer_image_type_e;


/* why an image was refused: the metrics' reason label, and the status */
typedef enum {
    INFER_IMAGE_OK = 0,
    INFER_IMAGE_EMPTY,                       /* no bytes: 400 */
    INFER_IMAGE_WRONG_TYPE,                  /* not the declared type: 415 */
    INFER_IMAGE_TOO_LARGE,                   /* over the pixel limit: 413 */
    INFER_IMAGE_CORRUPT,                     /* truncated, bad data: 400 */
    INFER_IMAGE_COLORSPACE,                  /* CMYK, YCCK: 415 */
    INFER_IMAGE_NREASONS
} infer_image_reason_e;


typedef struct {
    infer_image_reason_e     reason;
    char                     msg[INFER_ERRLEN];   /* for the JSON error */
} infer_image_error_t;


typedef struct {
    infer_image_type_e       type;
    uint32_t                 width;
    uint32_t                 height;
    unsigned                 channels;       /* as stored: 1 to 4 */
    unsigned                 bit_depth;      /* as stored: 1 to 16 */
} infer_image_info_t;


/* the type the bytes' signature says, whatever was declared */
infer_image_type_e infer_image_sniff(const unsigned char *data, size_t len);

/* "jpeg", "png", "none" */
const char *infer_image_type_name(infer_image_type_e type);
/* "empty", "wrong_type", "too_large", "corrupt", "colorspace" */
const char *infer_image_reason_name(infer_image_reason_e reason);

/*
 * Reads the header only: the size and format, and refuses (INFER_EINVAL,
 * e says why) an empty body, bytes that are not the declared type (NONE:
 * whatever the signature says), an unsupported colour space and more
 * than max_pixels pixels, before anything is decoded.  Cheap enough for
 * the event loop; allocates nothing of the caller's.
 */
int infer_image_header(const unsigned char *data, size_t len,
    infer_image_type_e declared, uint64_t max_pixels,
    infer_image_info_t *info, infer_image_error_t *e);

/*
 * Decodes the whole image into rgb (info->width x info->height x 3 bytes,
 * row-major, interleaved), as PIL's convert("RGB") would have it: grey
 * and palette expanded, alpha dropped (not composited), 16-bit samples
 * scaled by rounding (v / 257).  INFER_OK; INFER_EINVAL with e filled for
 * a corrupt or truncated image; INFER_ERROR out of memory.  Thread-safe.
 */
int infer_image_decode(const unsigned char *data, size_t len,
    const infer_image_info_t *info, unsigned char *rgb,
    infer_image_error_t *e);


/* preprocessing: declared with the model, checked at configuration */

typedef enum {
    INFER_IMAGE_NCHW = 0,
    INFER_IMAGE_NHWC
} infer_image_layout_e;


typedef struct {
    uint32_t                 width;          /* the tensor's */
    uint32_t                 height;
    uint32_t                 resize;         /* the short side before the
                                                crop (torchvision's
                                                Resize(int)); 0: resize to
                                                width x height directly */
    infer_image_layout_e     layout;
    float                    mean[3];        /* ToTensor's [0,1] scale */
    float                    std[3];
} infer_image_prep_t;


/* the size Resize(resize) gives: short side resize, long truncated */
void infer_image_resized_size(const infer_image_prep_t *p, uint32_t w,
    uint32_t h, uint32_t *rw, uint32_t *rh);

/* the scratch memory infer_image_preprocess() needs for a w x h image */
size_t infer_image_prep_scratch(const infer_image_prep_t *p, uint32_t w,
    uint32_t h);

/*
 * rgb (w x h x 3) to x (3 x height x width floats, or height x width x 3):
 * Pillow's bilinear resampling (antialiased when it shrinks), the centre
 * crop, /255, per-channel (v - mean) / std.  Thread-safe; uses scratch
 * only.
 */
int infer_image_preprocess(const infer_image_prep_t *p,
    const unsigned char *rgb, uint32_t w, uint32_t h, void *scratch,
    float *x);


/*
 * multipart/form-data (what curl -F sends): the first part that carries
 * a filename (or, failing that, the only part), its bytes and its
 * Content-Type.  ctype is the request's Content-Type header value.
 * INFER_OK; INFER_EINVAL with err set when the body is not what the
 * header says.
 */
typedef struct {
    const unsigned char     *data;
    size_t                   len;
    const unsigned char     *type;           /* the part's, or NULL */
    size_t                   type_len;
} infer_multipart_part_t;

int infer_multipart_file(const unsigned char *ctype, size_t ctype_len,
    const unsigned char *body, size_t len, infer_multipart_part_t *part,
    char *err, size_t errlen);


#endif /* INFER_IMAGE_H */
