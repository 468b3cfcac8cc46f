/* Softmax over the last axis. float32 uses its own expf (no libm); int8 follows LiteRT's int8
 * softmax: a float table of exp(-in_scale * beta * d), a float32 sum in order, (int)(p + 0.5). */
#include <string.h>

#include "ts_kernels.h"

/* exp(x) for x <= 0: x = n ln2 + r, |r| <= ln2/2, degree-7 Taylor for exp(r) (relative error
 * below 1e-8), then scaled by 2^n through the exponent bits. */
static float ts_expf(float x)
{
    if (x < -87.0f) {
        return 0.0f;
    }
    const float log2e = 1.44269504f, ln2_hi = 0.693145752f, ln2_lo = 1.42860677e-06f;
    const int n = (int)(x * log2e + (x >= 0.0f ? 0.5f : -0.5f));
    const float r = (x - (float)n * ln2_hi) - (float)n * ln2_lo;
    float e = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120
              + r * (1.0f / 720 + r * (1.0f / 5040)))))));
    const uint32_t bits = (uint32_t)(n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return e * scale;
}

void ts_softmax_f32(const ts_softmax_t *p, const float *in, float *out)
{
    for (int r = 0; r < p->rows; r++) {
        const float *x = in + r * p->depth;
        float *y = out + r * p->depth;
        float max = x[0];
        for (int i = 1; i < p->depth; i++) {
            max = x[i] > max ? x[i] : max;
        }
        float sum = 0.0f;
        for (int i = 0; i < p->depth; i++) {
            y[i] = ts_expf((x[i] - max) * p->beta);
            sum += y[i];
        }
        const float inv = 1.0f / sum;
        for (int i = 0; i < p->depth; i++) {
            y[i] *= inv;
        }
    }
}

void ts_softmax_s8(const ts_softmax_t *p, const int8_t *in, int8_t *out)
{
    for (int r = 0; r < p->rows; r++) {
        const int8_t *x = in + r * p->depth;
        int8_t *y = out + r * p->depth;
        int32_t max = x[0];
        for (int i = 1; i < p->depth; i++) {
            max = x[i] > max ? x[i] : max;
        }
        float sum = 0.0f;
        for (int i = 0; i < p->depth; i++) {
            sum += p->table[max - x[i]];
        }
        const float inv = 1.0f / (sum * p->out_scale);
        for (int i = 0; i < p->depth; i++) {
            const int32_t q = (int32_t)(p->table[max - x[i]] * inv + 0.5f);
            y[i] = (int8_t)ts_clampi(q + p->out_zero_point, -128, 127);
        }
    }
}
