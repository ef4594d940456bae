/*
 * The resampler behind infer_image_preprocess(): Pillow's BILINEAR resize
 * of a w x h RGB image to rw x rh, computing only the crop window (x0,
 * y0, cw x ch) of the result.  Private to src/image/.
 */

#ifndef INFER_IMAGE_RESIZE_H
#define INFER_IMAGE_RESIZE_H


#include "infer_image.h"


size_t infer_image_resize_scratch(uint32_t w, uint32_t h, uint32_t rw,
    uint32_t rh, uint32_t x0, uint32_t y0, uint32_t cw, uint32_t ch);
void infer_image_resize(const unsigned char *rgb, uint32_t w, uint32_t h,
    uint32_t rw, uint32_t rh, uint32_t x0, uint32_t y0, uint32_t cw,
    uint32_t ch, void *scratch, unsigned char *out);


#endif /* INFER_IMAGE_RESIZE_H */
