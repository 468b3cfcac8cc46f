/* UNARY: logistic, tanh, leaky ReLU, hard swish and SELU. float32 calls libm's expf and tanhf (the one
 * kernel file that needs libm; a model without these functions never links it); int8 reads a table. */
#include <math.h>

#include "ts_kernels.h"

/* UNARY in float32, each function as TFLite's float kernels write it */
void ts_unary_f32(const ts_unary_t *p, const float *in, float *out)
{
    const int n = p->size;
    switch (p->kind) {
    case TS_UNARY_LOGISTIC:
        for (int i = 0; i < n; i++)
            out[i] = 1.0f / (1.0f + expf(-in[i]));
        break;
    case TS_UNARY_TANH:
        for (int i = 0; i < n; i++)
            out[i] = tanhf(in[i]);
        break;
    case TS_UNARY_LEAKY_RELU:
        for (int i = 0; i < n; i++)
            out[i] = in[i] >= 0.0f ? in[i] : p->alpha * in[i];
        break;
    case TS_UNARY_HARD_SWISH:
        for (int i = 0; i < n; i++)
            out[i] = in[i] * ts_clampf(in[i] + 3.0f, 0.0f, 6.0f) / 6.0f;
        break;
    default: /* TS_UNARY_SELU */
        for (int i = 0; i < n; i++)
            out[i] = p->gamma * (in[i] > 0.0f ? in[i] : p->alpha * (expf(in[i]) - 1.0f));
        break;
    }
}

/* UNARY in int8: one table load per element (the table is the reference's, layers.py) */
void ts_lut_s8(const ts_lut_t *p, const int8_t *in, int8_t *out)
{
    const int8_t *t = p->table + 128;
    for (int i = 0; i < p->size; i++)
        out[i] = t[in[i]];
}
