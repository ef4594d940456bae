/*
 * The decoders behind infer_image_header() and infer_image_decode(), one
 * per format (infer_image_jpeg.c, infer_image_png.c); infer_image_sniff.c
 * picks one by the signature.  Private to src/image/.
 */

#ifndef INFER_IMAGE_CODEC_H
#define INFER_IMAGE_CODEC_H


#include "infer_image.h"


int infer_image_jpeg_header(const unsigned char *data, size_t len,
    infer_image_info_t *info, infer_image_error_t *e);
int infer_image_jpeg_decode(const unsigned char *data, size_t len,
    const infer_image_info_t *info, unsigned char *rgb,
    infer_image_error_t *e);
int infer_image_png_header(const unsigned char *data, size_t len,
    infer_image_info_t *info, infer_image_error_t *e);
int infer_image_png_decode(const unsigned char *data, size_t len,
    const infer_image_info_t *info, unsigned char *rgb,
    infer_image_error_t *e);


#endif /* INFER_IMAGE_CODEC_H */
