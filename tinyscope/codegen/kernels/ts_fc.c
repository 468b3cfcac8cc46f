/* Fully connected layers, float32 and int8: four output features at a time, weights (out, in)
 * read sequentially. */
#include "ts_kernels.h"

void ts_fc_f32(const ts_fc_t *p, const float *in, float *out)
{
    const float *w = (const float *)p->weights;
    const float *bias = (const float *)p->bias;
    const int n_in = p->in_features;
    for (int b = 0; b < p->batch; b++) {
        const float *x = in + b * n_in;
        float *y = out + b * p->out_features;
        int o = 0;
        for (; o + 4 <= p->out_features; o += 4) {
            const float *w0 = w + o * n_in, *w1 = w0 + n_in, *w2 = w1 + n_in, *w3 = w2 + n_in;
            float a0 = bias[o], a1 = bias[o + 1], a2 = bias[o + 2], a3 = bias[o + 3];
            for (int i = 0; i < n_in; i++) {
                const float v = x[i];
                a0 += v * w0[i];
                a1 += v * w1[i];
                a2 += v * w2[i];
                a3 += v * w3[i];
            }
            y[o] = ts_clampf(a0, p->lo, p->hi);
            y[o + 1] = ts_clampf(a1, p->lo, p->hi);
            y[o + 2] = ts_clampf(a2, p->lo, p->hi);
            y[o + 3] = ts_clampf(a3, p->lo, p->hi);
        }
        for (; o < p->out_features; o++) {
            const float *w0 = w + o * n_in;
            float a0 = bias[o];
            for (int i = 0; i < n_in; i++) {
                a0 += x[i] * w0[i];
            }
            y[o] = ts_clampf(a0, p->lo, p->hi);
        }
    }
}

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#include <string.h>

static inline int32_t load_word(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline int32_t sxtb16_odd(int32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline int32_t sxtab16_odd(int32_t a, int32_t v)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
    return r;
}
#endif

/* sum (x[i] + in_off) * (w[i] + w_off): four inputs per two SMLADs on Arm when the weights are
 * symmetric (w_off == 0, TFLite's int8 FC), SXTAB16 adding the input offset while widening. */
static int32_t dot_s8(const int8_t *x, const int8_t *w, int n, int32_t in_off, int32_t w_off)
{
    int32_t a0 = 0, a1 = 0;
    int i = 0;
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
    if (w_off == 0) {
        const int32_t off2 = (int32_t)(((uint32_t)in_off & 0xFFFFu) | ((uint32_t)in_off << 16));
        for (; i + 4 <= n; i += 4) {
            const int32_t xv = load_word(x + i), wv = load_word(w + i);
            a0 = __smlad(__sxtab16(off2, xv), __sxtb16(wv), a0);
            a1 = __smlad(sxtab16_odd(off2, xv), sxtb16_odd(wv), a1);
        }
    }
#endif
    for (; i + 2 <= n; i += 2) {
        a0 += (x[i] + in_off) * (w[i] + w_off);
        a1 += (x[i + 1] + in_off) * (w[i + 1] + w_off);
    }
    for (; i < n; i++) {
        a0 += (x[i] + in_off) * (w[i] + w_off);
    }
    return a0 + a1;
}

void ts_fc_s8(const ts_fc_t *p, const int8_t *in, int8_t *out)
{
    const int8_t *w = (const int8_t *)p->weights;
    const int32_t *bias = (const int32_t *)p->bias;
    const int n_in = p->in_features;
    const int32_t in_off = p->in_offset, out_off = p->out_offset, lo = p->qlo, hi = p->qhi;
    const int32_t *mult = p->mult, *shift = p->shift, *w_offset = p->w_offset;
    for (int b = 0; b < p->batch; b++) {
        const int8_t *x = in + b * n_in;
        int8_t *y = out + b * p->out_features;
        for (int o = 0; o < p->out_features; o++) {
            const int32_t w_off = w_offset ? w_offset[o] : 0;
            int32_t acc = bias[o] + dot_s8(x, w + o * n_in, n_in, in_off, w_off);
            int32_t v = ts_requant(acc, mult[o], shift[o]) + out_off;
            y[o] = (int8_t)ts_clampi(v, lo, hi);
        }
    }
}
