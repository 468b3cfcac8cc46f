/* float32 convolution and depthwise convolution, with activation and an optional fused pool. */
#include "ts_kernels.h"

/* All output channels of conv output pixel (oy, ox) into px[0..oc). Four channels at a time with
 * four independent accumulators: a chain of FMAs into one register would stall 3 cycles each. */
static void conv_pixel(const ts_conv_t *p, const float *in, int oy, int ox, int o0, int o1, float *px)
{
    const float *w = (const float *)p->weights;
    const float *bias = (const float *)p->bias;
    const int k_size = p->kh * p->kw * p->ic;
    const int iy0 = oy * p->sh - p->pt;
    const int ix0 = ox * p->sw - p->pl;
    int o = o0;
    for (; o + 4 <= o1; o += 4) {
        const float *w0 = w + o * k_size;
        float a0 = bias[o], a1 = bias[o + 1], a2 = bias[o + 2], a3 = bias[o + 3];
        for (int ky = 0; ky < p->kh; ky++) {
            const int iy = iy0 + ky * p->dh;
            if (iy < 0 || iy >= p->ih) {
                continue;
            }
            for (int kx = 0; kx < p->kw; kx++) {
                const int ix = ix0 + kx * p->dw;
                if (ix < 0 || ix >= p->iw) {
                    continue;
                }
                const float *x = in + (iy * p->iw + ix) * p->ic;
                const int k = (ky * p->kw + kx) * p->ic;
                const float *wa = w0 + k, *wb = wa + k_size, *wc = wb + k_size, *wd = wc + k_size;
                for (int c = 0; c < p->ic; c++) {
                    const float v = x[c];
                    a0 += v * wa[c];
                    a1 += v * wb[c];
                    a2 += v * wc[c];
                    a3 += v * wd[c];
                }
            }
        }
        px[o] = ts_clampf(a0, p->lo, p->hi);
        px[o + 1] = ts_clampf(a1, p->lo, p->hi);
        px[o + 2] = ts_clampf(a2, p->lo, p->hi);
        px[o + 3] = ts_clampf(a3, p->lo, p->hi);
    }
    for (; o < o1; o++) {
        const float *w0 = w + o * k_size;
        float a0 = bias[o];
        for (int ky = 0; ky < p->kh; ky++) {
            const int iy = iy0 + ky * p->dh;
            if (iy < 0 || iy >= p->ih) {
                continue;
            }
            for (int kx = 0; kx < p->kw; kx++) {
                const int ix = ix0 + kx * p->dw;
                if (ix < 0 || ix >= p->iw) {
                    continue;
                }
                const float *x = in + (iy * p->iw + ix) * p->ic;
                const float *wa = w0 + (ky * p->kw + kx) * p->ic;
                for (int c = 0; c < p->ic; c++) {
                    a0 += x[c] * wa[c];
                }
            }
        }
        px[o] = ts_clampf(a0, p->lo, p->hi);
    }
}

/* All channels of depthwise output pixel (oy, ox): channels are independent accumulators. */
static void depthwise_pixel(const ts_conv_t *p, const float *in, int oy, int ox, int o0, int o1, float *px)
{
    const float *w = (const float *)p->weights;
    const float *bias = (const float *)p->bias;
    const int m = p->depth_multiplier;
    const int iy0 = oy * p->sh - p->pt;
    const int ix0 = ox * p->sw - p->pl;
    for (int o = o0; o < o1; o++) {
        px[o] = bias[o];
    }
    for (int ky = 0; ky < p->kh; ky++) {
        const int iy = iy0 + ky * p->dh;
        if (iy < 0 || iy >= p->ih) {
            continue;
        }
        for (int kx = 0; kx < p->kw; kx++) {
            const int ix = ix0 + kx * p->dw;
            if (ix < 0 || ix >= p->iw) {
                continue;
            }
            const float *x = in + (iy * p->iw + ix) * p->ic;
            const float *wk = w + (ky * p->kw + kx) * p->oc;
            if (m == 1) {
                for (int o = o0; o < o1; o++) {
                    px[o] += x[o] * wk[o];
                }
            } else {
                for (int o = o0; o < o1; o++) {
                    px[o] += x[o / m] * wk[o];
                }
            }
        }
    }
    for (int o = o0; o < o1; o++) {
        px[o] = ts_clampf(px[o], p->lo, p->hi);
    }
}

typedef void (*pixel_fn)(const ts_conv_t *, const float *, int, int, int, int, float *);

/* Drive a pixel function over the output, pooling on the fly when a pool is fused. */
static void conv_block(const ts_conv_t *p, const float *in, float *out, pixel_fn pixel, int o0, int o1);

/* Output channels are produced `block` at a time over the whole output, so one block's weights
 * (4 channels x kh x kw x ic) stay in the D-cache instead of being streamed again for every pixel. */
static void conv_driver(const ts_conv_t *p, const float *in, float *out, pixel_fn pixel, int block)
{
    for (int o0 = 0; o0 < p->oc; o0 += block) {
        const int o1 = o0 + block < p->oc ? o0 + block : p->oc;
        conv_block(p, in, out, pixel, o0, o1);
    }
}

static void conv_block(const ts_conv_t *p, const float *in, float *out, pixel_fn pixel, int o0, int o1)
{
    const ts_pool_t *pl = &p->pool;
    if (pl->kind == TS_POOL_NONE) {
        for (int oy = 0; oy < p->oh; oy++) {
            for (int ox = 0; ox < p->ow; ox++) {
                pixel(p, in, oy, ox, o0, o1, out + (oy * p->ow + ox) * p->oc);
            }
        }
        return;
    }
    float px[p->oc];
    for (int py = 0; py < pl->oh; py++) {
        for (int qx = 0; qx < pl->ow; qx++) {
            float *dst = out + (py * pl->ow + qx) * p->oc;
            int count = 0;
            for (int wy = 0; wy < pl->kh; wy++) {
                const int cy = py * pl->sh - pl->pt + wy;
                if (cy < 0 || cy >= p->oh) {
                    continue;
                }
                for (int wx = 0; wx < pl->kw; wx++) {
                    const int cx = qx * pl->sw - pl->pl + wx;
                    if (cx < 0 || cx >= p->ow) {
                        continue;
                    }
                    pixel(p, in, cy, cx, o0, o1, px);
                    if (count == 0) {
                        for (int o = o0; o < o1; o++) {
                            dst[o] = px[o];
                        }
                    } else if (pl->kind == TS_POOL_MAX) {
                        for (int o = o0; o < o1; o++) {
                            dst[o] = px[o] > dst[o] ? px[o] : dst[o];
                        }
                    } else {
                        for (int o = o0; o < o1; o++) {
                            dst[o] += px[o];
                        }
                    }
                    count++;
                }
            }
            for (int o = o0; o < o1; o++) {
                const float v = pl->kind == TS_POOL_AVG ? dst[o] / (float)count : dst[o];
                dst[o] = ts_clampf(v, pl->lo, pl->hi);
            }
        }
    }
}

void ts_conv2d_f32(const ts_conv_t *p, const float *in, float *out)
{
    conv_driver(p, in, out, conv_pixel, 4);
}

void ts_depthwise_f32(const ts_conv_t *p, const float *in, float *out)
{
    conv_driver(p, in, out, depthwise_pixel, p->oc);
}
