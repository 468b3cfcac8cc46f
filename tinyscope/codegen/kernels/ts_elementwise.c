/* Elementwise and movement kernels: ADD (TFLite's int8 add with a 20-bit left shift), standalone
 * activations, zero padding, CONCATENATION, QUANTIZE and DEQUANTIZE (UNARY: ts_unary.c). */
#include <string.h>

#include "ts_kernels.h"

void ts_add_f32(const ts_add_t *p, const float *a, const float *b, float *out)
{
    for (int i = 0; i < p->size; i++) {
        out[i] = ts_clampf(a[i] + b[i], p->lo, p->hi);
    }
}

/* Each input has only 256 values, so its rescaled form ((x + offset) << 20, requantized, as TFLite
 * computes it per element) is a table the generator computes (layers.py, 1 KB each); an element then
 * costs two table loads, an add and one requantization. */
void ts_add_s8(const ts_add_t *p, const int8_t *a, const int8_t *b, int8_t *out)
{
    const int32_t *s1 = p->in1_table + 128, *s2 = p->in2_table + 128;
    const int32_t mult = p->out_mult, shift = p->out_shift, off = p->out_offset, lo = p->qlo, hi = p->qhi;
    const int n = p->size;
    for (int i = 0; i < n; i++) {
        const int32_t v = ts_requant(s1[a[i]] + s2[b[i]], mult, shift) + off;
        out[i] = (int8_t)ts_clampi(v, lo, hi);
    }
}

void ts_activation_f32(const ts_act_t *p, const float *in, float *out)
{
    for (int i = 0; i < p->size; i++) {
        out[i] = ts_clampf(in[i], p->lo, p->hi);
    }
}

void ts_activation_s8(const ts_act_t *p, const int8_t *in, int8_t *out)
{
    for (int i = 0; i < p->size; i++) {
        int32_t v = in[i];
        if (p->requant) {
            v = ts_requant(v + p->in_offset, p->mult, p->shift) + p->out_offset;
            v = ts_clampi(v, -128, 127);
        }
        out[i] = (int8_t)ts_clampi(v, p->qlo, p->qhi);
    }
}

void ts_pad(const ts_pad_t *p, const void *in, void *out)
{
    const int ow = p->iw + p->pl + p->pr;
    const int oh = p->ih + p->pt + p->pb;
    const int row = p->iw * p->c * p->elem_size;
    uint8_t *dst = (uint8_t *)out;
    const uint8_t *src = (const uint8_t *)in;
    memset(dst, (int)p->fill, (size_t)oh * ow * p->c * p->elem_size);
    for (int y = 0; y < p->ih; y++) {
        memcpy(dst + ((y + p->pt) * ow + p->pl) * p->c * p->elem_size, src + y * row, (size_t)row);
    }
}

/* CONCATENATION: the output is every input's slice in turn, for each index before the axis (int8 inputs
 * share the output's quantization, so bytes are copied for both types). */
void ts_concat(const ts_concat_t *p, const void *const *ins, void *out)
{
    uint8_t *dst = (uint8_t *)out;
    for (int o = 0; o < p->outer; o++) {
        for (int k = 0; k < p->n; k++) {
            const int32_t b = p->bytes[k];
            memcpy(dst, (const uint8_t *)ins[k] + (size_t)o * (size_t)b, (size_t)b);
            dst += b;
        }
    }
}

void ts_quantize(const ts_qparams_t *p, const float *in, int8_t *out)
{
    for (int i = 0; i < p->size; i++) {
        const float v = in[i] / p->scale;
        const int32_t r = v >= 0.0f ? (int32_t)(v + 0.5f) : -(int32_t)(-v + 0.5f);
        out[i] = (int8_t)ts_clampi(r + p->zero_point, -128, 127);
    }
}

void ts_dequantize(const ts_qparams_t *p, const int8_t *in, float *out)
{
    for (int i = 0; i < p->size; i++) {
        out[i] = (float)(in[i] - p->zero_point) * p->scale;
    }
}
