/* int8 convolution and depthwise convolution (TFLite per-channel quantization), with an optional
 * fused pool computed on the quantized values, as TFLite's pooling ops do. */
#include <string.h>

#include "ts_kernels.h"

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#define TS_SIMD 1
#else
#define TS_SIMD 0
#endif

#if TS_SIMD
static inline int32_t ror8(int32_t v)
{
    return (int32_t)(((uint32_t)v >> 8) | ((uint32_t)v << 24)); /* GCC folds this into SXTB16's rotate */
}

static inline int32_t load_word(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v); /* one LDR; rows are word aligned when ic % 4 == 0 */
    return v;
}

/* Four input channels into one accumulator with two SMLADs: SXTB16 splits the even and odd bytes
 * into 16-bit lanes, SADD16 adds the input offset in both lanes (values stay within +-255). */
#define TS_MAC4(acc, x02, x13, wp)                                         \
    do {                                                                   \
        const int32_t wv_ = load_word(wp);                                 \
        acc = __smlad((x02), __sxtb16(wv_), acc);                          \
        acc = __smlad((x13), __sxtb16(ror8(wv_)), acc);      \
    } while (0)
#endif

/* inlined: a call per output channel costs more than the arithmetic */
static inline __attribute__((always_inline)) int8_t requant(const ts_conv_t *p, int32_t acc, int o)
{
    int32_t v = ts_requant(acc, p->mult[o], p->shift[o]) + p->out_offset;
    return (int8_t)ts_clampi(v, p->qlo, p->qhi);
}

/* All output channels of pixel (oy, ox); four channels at a time with independent accumulators.
 * Padded taps are skipped: (zero point - zero point) contributes nothing. */
static void conv_pixel(const ts_conv_t *p, const int8_t *in, int oy, int ox, int o0, int o1, int8_t *px)
{
    const int8_t *w = (const int8_t *)p->weights;
    const int32_t *bias = (const int32_t *)p->bias;
    const int k_size = p->kh * p->kw * p->ic;
    const int iy0 = oy * p->sh - p->pt;
    const int ix0 = ox * p->sw - p->pl;
    const int32_t off = p->in_offset;
    int o = o0;
    for (; o + 4 <= o1; o += 4) {
        const int8_t *w0 = w + o * k_size;
        int32_t a0 = bias[o], a1 = bias[o + 1], a2 = bias[o + 2], a3 = bias[o + 3];
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
                const int8_t *x = in + (iy * p->iw + ix) * p->ic;
                const int k = (ky * p->kw + kx) * p->ic;
                const int8_t *wa = w0 + k, *wb = wa + k_size, *wc = wb + k_size, *wd = wc + k_size;
                int c = 0;
#if TS_SIMD
                if ((p->ic & 3) == 0) {
                    const int32_t off2 = (int32_t)(((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16));
                    for (; c < p->ic; c += 4) {
                        const int32_t xv = load_word(x + c);
                        const int32_t x02 = __sadd16(__sxtb16(xv), off2);
                        const int32_t x13 = __sadd16(__sxtb16(ror8(xv)), off2);
                        TS_MAC4(a0, x02, x13, wa + c);
                        TS_MAC4(a1, x02, x13, wb + c);
                        TS_MAC4(a2, x02, x13, wc + c);
                        TS_MAC4(a3, x02, x13, wd + c);
                    }
                }
#endif
                for (; c < p->ic; c++) {
                    const int32_t v = x[c] + off;
                    a0 += v * wa[c];
                    a1 += v * wb[c];
                    a2 += v * wc[c];
                    a3 += v * wd[c];
                }
            }
        }
        px[o] = requant(p, a0, o);
        px[o + 1] = requant(p, a1, o + 1);
        px[o + 2] = requant(p, a2, o + 2);
        px[o + 3] = requant(p, a3, o + 3);
    }
    for (; o < o1; o++) {
        const int8_t *w0 = w + o * k_size;
        int32_t a0 = bias[o];
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
                const int8_t *x = in + (iy * p->iw + ix) * p->ic;
                const int8_t *wa = w0 + (ky * p->kw + kx) * p->ic;
                for (int c = 0; c < p->ic; c++) {
                    a0 += (x[c] + off) * wa[c];
                }
            }
        }
        px[o] = requant(p, a0, o);
    }
}

static void depthwise_pixel(const ts_conv_t *p, const int8_t *in, int oy, int ox, int o0, int o1, int8_t *px)
{
    const int8_t *w = (const int8_t *)p->weights;
    const int32_t *bias = (const int32_t *)p->bias;
    const int m = p->depth_multiplier;
    const int iy0 = oy * p->sh - p->pt;
    const int ix0 = ox * p->sw - p->pl;
    int32_t acc[p->oc];
    for (int o = o0; o < o1; o++) {
        acc[o] = bias[o];
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
            const int8_t *x = in + (iy * p->iw + ix) * p->ic;
            const int8_t *wk = w + (ky * p->kw + kx) * p->oc;
            for (int o = o0; o < o1; o++) {
                acc[o] += (x[o / m] + p->in_offset) * wk[o];
            }
        }
    }
    for (int o = o0; o < o1; o++) {
        px[o] = requant(p, acc[o], o);
    }
}

typedef void (*pixel_fn)(const ts_conv_t *, const int8_t *, int, int, int, int, int8_t *);

/* TFLite's int8 average: round half away from zero of sum / count. */
static int32_t average(int32_t sum, int32_t count)
{
    return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

static void conv_block(const ts_conv_t *p, const int8_t *in, int8_t *out, pixel_fn pixel, int o0, int o1);

/* Output channels are produced `block` at a time over the whole output, so one block's weights
 * (4 channels x kh x kw x ic) stay in the D-cache instead of being streamed again for every pixel. */
static void conv_driver(const ts_conv_t *p, const int8_t *in, int8_t *out, pixel_fn pixel, int block)
{
    for (int o0 = 0; o0 < p->oc; o0 += block) {
        const int o1 = o0 + block < p->oc ? o0 + block : p->oc;
        conv_block(p, in, out, pixel, o0, o1);
    }
}

static void conv_block(const ts_conv_t *p, const int8_t *in, int8_t *out, pixel_fn pixel, int o0, int o1)
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
    int8_t px[p->oc];
    int32_t acc[p->oc];
    for (int py = 0; py < pl->oh; py++) {
        for (int qx = 0; qx < pl->ow; qx++) {
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
                    for (int o = o0; o < o1; o++) {
                        if (count == 0) {
                            acc[o] = px[o];
                        } else if (pl->kind == TS_POOL_MAX) {
                            acc[o] = px[o] > acc[o] ? px[o] : acc[o];
                        } else {
                            acc[o] += px[o];
                        }
                    }
                    count++;
                }
            }
            int8_t *dst = out + (py * pl->ow + qx) * p->oc;
            for (int o = o0; o < o1; o++) {
                const int32_t v = pl->kind == TS_POOL_AVG ? average(acc[o], count) : acc[o];
                dst[o] = (int8_t)ts_clampi(v, pl->qlo, pl->qhi);
            }
        }
    }
}

void ts_conv2d_s8(const ts_conv_t *p, const int8_t *in, int8_t *out)
{
    conv_driver(p, in, out, conv_pixel, p->oc); /* int8 weights are small: all channels per pixel measured faster */
}

void ts_depthwise_s8(const ts_conv_t *p, const int8_t *in, int8_t *out)
{
    conv_driver(p, in, out, depthwise_pixel, p->oc);
}
