/* float32 convolution and depthwise convolution, with activation and an optional fused pool. */
#include <string.h>

#include "ts_kernels.h"

/* ReLU without a float compare: a float compare costs VCMP, a 3-cycle VMRS and a select, while
 * clearing a negative value's bits is two integer ops. max(v, 0) for every non-NaN v (-0 becomes +0). */
static inline void store_relu(float *d, float v)
{
    int32_t b;
    memcpy(&b, &v, sizeof b);
    b &= ~(b >> 31);
    memcpy(d, &b, sizeof b);
}

/* is the clamp [0, +max]? (the generator writes FLT_MAX for "no upper bound") */
static inline int is_relu(const ts_conv_t *p)
{
    return p->lo == 0.0f && p->hi >= 3.402823466e+38f;
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
            int y0, y1, x0, x1;
            ts_pool_span(py, pl->kh, pl->sh, pl->pt, p->oh, &y0, &y1);
            ts_pool_span(qx, pl->kw, pl->sw, pl->pl, p->ow, &x0, &x1);
            for (int cy = y0; cy < y1; cy++) {
                for (int cx = x0; cx < x1; cx++) {
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

/* ---- CONV_2D: four output channels x four output pixels per pass ----
 * The generator stores the weights in blocks of four output channels, each block as [k][4]
 * (k = (ky * kw + kx) * ic + c; channels past oc are zero), so one pass reads four weights in a
 * row and keeps 16 accumulators, 4 weights and 4 inputs in the 32 single-precision registers:
 * 8 loads per 16 FMAs instead of 5 per 4. One block's weights stay in the D-cache while it sweeps
 * the whole output. */

/* Four conv pixels whose windows are inside the input (raster indices i .. i+3), channels
 * o..o+n-1, clamped, pixel i + t into dst + (i + t) * stride. Each kernel row is one loop over
 * kw * ic contiguous values when dw == 1 (the taps of a row are neighbouring input pixels). */
/* not inlined nor cloned: one copy of the FMA blocks (code size), called once per 16 x K MACs */
#define TS_OUTLINE __attribute__((noinline, noclone))

static TS_OUTLINE void conv_block4(const ts_conv_t *p, const float *in, const float *wb, const float *b,
                                   const int *base, int i, int n, float *dst, int stride)
{
    const int ic = p->ic;
    const int s1 = base[1] - base[0], s2 = base[2] - base[0], s3 = base[3] - base[0];
    const int run = p->dw == 1 ? p->kw * ic : ic; /* contiguous values per inner loop */
    const int runs = p->dw == 1 ? 1 : p->kw;
    float a0 = b[0], a1 = b[1], a2 = b[2], a3 = b[3];
    float c0 = b[0], c1 = b[1], c2 = b[2], c3 = b[3];
    float d0 = b[0], d1 = b[1], d2 = b[2], d3 = b[3];
    float e0 = b[0], e1 = b[1], e2 = b[2], e3 = b[3];
    const float *wk = wb;
    const int first_layer_3x3 = ic == 1 && p->kh == 3 && p->kw == 3 && p->dh == 1 && p->dw == 1 && s1 == 1 &&
                                s2 == 2 && s3 == 3;
    if (first_layer_3x3) {
        /* a first layer (one input channel, 3x3, four neighbouring pixels): the six inputs of a
         * kernel row serve all four pixels, the nine taps are straight-line */
        const float *x = in + base[0];
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++, x += p->iw) {
            const float v[6] = {x[0], x[1], x[2], x[3], x[4], x[5]};
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++, wk += 4) {
                const float w0 = wk[0], w1 = wk[1], w2 = wk[2], w3 = wk[3];
                a0 += v[kx] * w0; a1 += v[kx] * w1; a2 += v[kx] * w2; a3 += v[kx] * w3;
                c0 += v[kx + 1] * w0; c1 += v[kx + 1] * w1; c2 += v[kx + 1] * w2; c3 += v[kx + 1] * w3;
                d0 += v[kx + 2] * w0; d1 += v[kx + 2] * w1; d2 += v[kx + 2] * w2; d3 += v[kx + 2] * w3;
                e0 += v[kx + 3] * w0; e1 += v[kx + 3] * w1; e2 += v[kx + 3] * w2; e3 += v[kx + 3] * w3;
            }
        }
    }
    for (int ky = 0; ky < p->kh && !first_layer_3x3; ky++) {
        for (int r = 0; r < runs; r++) {
            const float *x = in + base[0] + (ky * p->dh * p->iw + r * p->dw) * ic;
            for (int j = 0; j < run; j++, wk += 4) {
                const float w0 = wk[0], w1 = wk[1], w2 = wk[2], w3 = wk[3];
                const float x0 = x[j], x1 = x[j + s1], x2 = x[j + s2], x3 = x[j + s3];
                a0 += x0 * w0; a1 += x0 * w1; a2 += x0 * w2; a3 += x0 * w3;
                c0 += x1 * w0; c1 += x1 * w1; c2 += x1 * w2; c3 += x1 * w3;
                d0 += x2 * w0; d1 += x2 * w1; d2 += x2 * w2; d3 += x2 * w3;
                e0 += x3 * w0; e1 += x3 * w1; e2 += x3 * w2; e3 += x3 * w3;
            }
        }
    }
    const float res[16] = {a0, a1, a2, a3, c0, c1, c2, c3, d0, d1, d2, d3, e0, e1, e2, e3};
    if (n == 4 && is_relu(p)) {
        for (int t = 0; t < 4; t++) {
            float *d = dst + (i + t) * stride;
            store_relu(d, res[4 * t]);
            store_relu(d + 1, res[4 * t + 1]);
            store_relu(d + 2, res[4 * t + 2]);
            store_relu(d + 3, res[4 * t + 3]);
        }
        return;
    }
    for (int t = 0; t < 4; t++) {
        for (int j = 0; j < n; j++) {
            dst[(i + t) * stride + j] = ts_clampf(res[4 * t + j], p->lo, p->hi);
        }
    }
}

/* One conv pixel, skipping the taps outside the input. */
static TS_OUTLINE void single(const ts_conv_t *p, const float *in, const float *wb, const float *b, int oy, int ox,
                               int n, float *dst)
{
    const int ic = p->ic;
    const int iy0 = oy * p->sh - p->pt, ix0 = ox * p->sw - p->pl;
    float a[4] = {b[0], b[1], b[2], b[3]};
    for (int ky = 0; ky < p->kh; ky++) {
        const int iy = iy0 + ky * p->dh;
        for (int kx = 0; kx < p->kw; kx++) {
            const int ix = ix0 + kx * p->dw;
            if (iy < 0 || iy >= p->ih || ix < 0 || ix >= p->iw) {
                continue;
            }
            const float *x = in + (iy * p->iw + ix) * ic;
            const float *wk = wb + (ky * p->kw + kx) * ic * 4;
            for (int c = 0; c < ic; c++, wk += 4) {
                for (int j = 0; j < 4; j++) {
                    a[j] += x[c] * wk[j];
                }
            }
        }
    }
    for (int j = 0; j < n; j++) {
        dst[j] = ts_clampf(a[j], p->lo, p->hi);
    }
}

/* Conv pixels first .. first+count-1 in raster order, four at a time where the windows are inside
 * the input; a tail of fewer than four as one more block overlapping the previous one (those
 * pixels are written twice, with the same value). The rows and columns whose windows are inside
 * are found once, so the per-block test is four comparisons per pixel and no division. */
static TS_OUTLINE void conv_run(const ts_conv_t *p, const float *in, int o, int n, int first, int count, float *dst,
                                 int stride)
{
    const int k_size = p->kh * p->kw * p->ic;
    const float *wb = (const float *)p->weights + (o / 4) * 4 * k_size;
    const float *bias = (const float *)p->bias;
    const int ow = p->ow, last = first + count;
    float b[4];
    for (int j = 0; j < 4; j++) {
        b[j] = j < n ? bias[o + j] : 0.0f;
    }
    int y_lo = 0, y_hi = p->oh, x_lo = 0, x_hi = ow; /* windows inside: y_lo <= oy < y_hi, ... */
    while (y_lo < p->oh && y_lo * p->sh - p->pt < 0) {
        y_lo++;
    }
    while (y_hi > 0 && (y_hi - 1) * p->sh - p->pt + (p->kh - 1) * p->dh >= p->ih) {
        y_hi--;
    }
    while (x_lo < ow && x_lo * p->sw - p->pl < 0) {
        x_lo++;
    }
    while (x_hi > 0 && (x_hi - 1) * p->sw - p->pl + (p->kw - 1) * p->dw >= p->iw) {
        x_hi--;
    }
    dst -= first * stride;
    for (int i = first; i < last;) {
        const int bi = i + 4 > last && count >= 4 ? last - 4 : i;
        int oy = bi / ow, ox = bi - oy * ow;
        int base[4];
        int inside = bi + 4 <= last;
        for (int t = 0; t < 4 && inside; t++) {
            inside = oy >= y_lo && oy < y_hi && ox >= x_lo && ox < x_hi;
            base[t] = ((oy * p->sh - p->pt) * p->iw + ox * p->sw - p->pl) * p->ic;
            if (++ox == ow) {
                ox = 0;
                oy++;
            }
        }
        if (inside) {
            conv_block4(p, in, wb, b, base, bi, n, dst, stride);
            i = bi + 4;
        } else {
            single(p, in, wb, b, i / ow, i % ow, n, dst + i * stride);
            i++;
        }
    }
}

void ts_conv2d_f32(const ts_conv_t *p, const float *in, float *out)
{
    const ts_pool_t *pl = &p->pool;
    const int oc = p->oc;
    for (int o = 0; o < oc; o += 4) {
        const int n = oc - o < 4 ? oc - o : 4;
        if (pl->kind == TS_POOL_NONE) {
            conv_run(p, in, o, n, 0, p->oh * p->ow, out + o, oc);
            continue;
        }
        /* fused pool: one conv row at a time, folded into the pooled row it belongs to */
        float row[p->ow * 4];
        float acc[pl->ow * 4];
        /* after a ReLU every value is +0 or positive, where the order of the bit patterns as
         * integers is the order of the floats: max without VCMP/VMRS */
        const int int_max = pl->kind == TS_POOL_MAX && is_relu(p);
        for (int py = 0; py < pl->oh; py++) {
            for (int k = 0; k < pl->ow * 4; k++) {
                acc[k] = pl->kind == TS_POOL_MAX ? -3.402823466e+38f : 0.0f;
            }
            int y0, y1;
            ts_pool_span(py, pl->kh, pl->sh, pl->pt, p->oh, &y0, &y1);
            const int rows = y1 - y0;
            for (int cy = y0; cy < y1; cy++) {
                conv_run(p, in, o, n, cy * p->ow, p->ow, row, 4);
                for (int qx = 0; qx < pl->ow; qx++) {
                    int x0, x1;
                    ts_pool_span(qx, pl->kw, pl->sw, pl->pl, p->ow, &x0, &x1);
                    for (int cx = x0; cx < x1; cx++) {
                        float *d = acc + qx * 4;
                        const float *v = row + cx * 4;
                        if (int_max) {
                            for (int j = 0; j < 4; j++) {
                                int32_t a, b;
                                memcpy(&a, d + j, sizeof a);
                                memcpy(&b, v + j, sizeof b);
                                if (b > a) {
                                    memcpy(d + j, &b, sizeof b);
                                }
                            }
                        } else if (pl->kind == TS_POOL_MAX) {
                            for (int j = 0; j < n; j++) {
                                d[j] = ts_maxf(v[j], d[j]);
                            }
                        } else {
                            for (int j = 0; j < n; j++) {
                                d[j] += v[j];
                            }
                        }
                    }
                }
            }
            for (int qx = 0; qx < pl->ow; qx++) {
                int x0, x1;
                ts_pool_span(qx, pl->kw, pl->sw, pl->pl, p->ow, &x0, &x1);
                const int cols = x1 - x0;
                float *dst = out + (py * pl->ow + qx) * oc + o;
                for (int j = 0; j < n; j++) {
                    const float v = pl->kind == TS_POOL_AVG ? acc[qx * 4 + j] / (float)(rows * cols) : acc[qx * 4 + j];
                    dst[j] = ts_clampf(v, pl->lo, pl->hi);
                }
            }
        }
    }
}

void ts_depthwise_f32(const ts_conv_t *p, const float *in, float *out)
{
    conv_driver(p, in, out, depthwise_pixel, p->oc);
}
