/* tinyscope kernels: parameter records, prototypes and TFLite's fixed-point helpers.
 *
 * Every kernel reads NHWC tensors, writes NHWC tensors and never allocates. int8 kernels follow
 * TFLite's reference integer semantics bit for bit (MultiplyByQuantizedMultiplier, double
 * rounding). Written for a Cortex-M7: four independent accumulators in inner loops, weights read
 * sequentially, no byte-wise copies.
 */
#ifndef TS_KERNELS_H
#define TS_KERNELS_H

#include <stdint.h>

/* ---- TFLite fixed-point arithmetic (gemmlowp SaturatingRoundingDoublingHighMul etc.) ---- */
static inline int32_t ts_srdhm(int64_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
    return (int32_t)((ab + nudge) / (1LL << 31));
}

static inline int32_t ts_rdbpot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)((1LL << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* MultiplyByQuantizedMultiplier as TFLite writes it (64-bit division): kept for shift >= 0. */
static inline int32_t ts_requant_ref(int32_t x, int32_t mult, int32_t shift)
{
    int left = shift > 0 ? shift : 0;
    int right = shift > 0 ? 0 : -shift;
    return ts_rdbpot(ts_srdhm((int64_t)x * ((int64_t)1 << left), mult), right);
}

/* MultiplyByQuantizedMultiplier, bit-exact, without a division: two SMLALs and a shift.
 * For shift = -e < 0 and mult in {0} U [2^30, 2^31) (QuantizeMultiplier's range; the generator
 * checks it), SaturatingRoundingDoublingHighMul never saturates and equals floor((x*mult + 2^30)
 * / 2^31), and RoundingDivideByPOT(h, e) = floor((h + 2^(e-1) - [h < 0]) / 2^e) with
 * [h < 0] = [x < 0]. The two floors nest into one: (x*mult + 2^30 + 2^(30+e) - [x < 0]*2^31)
 * >> (31 + e), which fits in 64 bits. */
static inline int32_t ts_requant(int32_t x, int32_t mult, int32_t shift)
{
    if (shift >= 0) {
        return ts_requant_ref(x, mult, shift);
    }
    const int e = -shift;
    const uint32_t t = 1u << e;
#if defined(__ARM_FEATURE_DSP)
    /* the 64-bit accumulator in two registers, two SMLALs (GCC turns the C form's sign term into
     * five instructions) */
    uint32_t lo = 0x40000000u + (t << 30);
    int32_t hi = (int32_t)(t >> 2);
    __asm__("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"(x), "r"(mult));
    __asm__("smlal %0, %1, %2, %3" : "+r"(lo), "+r"(hi) : "r"((int32_t)((uint32_t)x >> 31)), "r"(INT32_MIN));
    return hi >> (e - 1);
#else
    int64_t acc = (int64_t)(((uint64_t)(t >> 2) << 32) | (uint32_t)(0x40000000u + (t << 30)));
    acc += (int64_t)x * mult;
    acc += (int64_t)(int32_t)((uint32_t)x >> 31) * INT32_MIN; /* - 2^31 when x < 0 */
    return (int32_t)(acc >> 32) >> (e - 1);
#endif
}

static inline int32_t ts_clampi(int32_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v; /* two conditional moves, no branch */
    return v > hi ? hi : v;
}

/* FPv5 has VMAXNM/VMINNM: a clamp without VCMP, VMRS and a branch (same value for non-NaN v). */
static inline float ts_maxf(float a, float b)
{
#if defined(__ARM_FEATURE_NUMERIC_MAXMIN)
    return __builtin_fmaxf(a, b);
#else
    return a > b ? a : b;
#endif
}

static inline float ts_clampf(float v, float lo, float hi)
{
#if defined(__ARM_FEATURE_NUMERIC_MAXMIN)
    return __builtin_fminf(__builtin_fmaxf(v, lo), hi);
#else
    return v < lo ? lo : (v > hi ? hi : v);
#endif
}

/* ---- pooling fused after a conv (the pre-pool tensor never exists in memory) ---- */
enum { TS_POOL_NONE = 0, TS_POOL_MAX = 1, TS_POOL_AVG = 2 };

typedef struct {
    int kind;                       /* TS_POOL_* */
    int kh, kw, sh, sw, pt, pl;     /* window, stride, padding (top, left) */
    int oh, ow;                     /* pooled output size */
    float lo, hi;                   /* float: the pool's own clamp */
    int32_t qlo, qhi;               /* int8: the pool's own clamp */
} ts_pool_t;

/* The one pooling-window walk: along one axis, the input range [*lo, *hi) that output position o
 * covers with window k, stride s and padding pad, clipped to an input of n. Every pooling kernel,
 * fused into a conv or not, walks its window as the product of two such spans. */
static inline void ts_pool_span(int o, int k, int s, int pad, int n, int *lo, int *hi)
{
    const int first = o * s - pad;
    *lo = first < 0 ? 0 : first;
    *hi = first + k > n ? n : first + k;
}

/* ---- convolution (CONV_2D and DEPTHWISE_CONV_2D) ---- */
typedef struct {
    int ih, iw, ic;                 /* input */
    int oh, ow, oc;                 /* conv output (before any pool) */
    int kh, kw, sh, sw, dh, dw, pt, pl;
    int depth_multiplier;           /* depthwise only */
    const void *weights;            /* OHWI (conv) or 1HWC (depthwise) */
    const void *bias;               /* float or int32 */
    float lo, hi;                   /* float activation clamp */
    int32_t in_offset, out_offset;  /* int8: -input zero point, output zero point */
    const int32_t *mult, *shift;    /* int8: per output channel requantization */
    int32_t qlo, qhi;               /* int8 activation clamp */
    ts_pool_t pool;
} ts_conv_t;

void ts_conv2d_f32(const ts_conv_t *p, const float *in, float *out);
void ts_depthwise_f32(const ts_conv_t *p, const float *in, float *out);
void ts_conv2d_s8(const ts_conv_t *p, const int8_t *in, int8_t *out);
void ts_depthwise_s8(const ts_conv_t *p, const int8_t *in, int8_t *out);

/* ---- fully connected ---- */
typedef struct {
    int batch, in_features, out_features;
    const void *weights;            /* (out, in) */
    const void *bias;
    float lo, hi;
    int32_t in_offset, out_offset;
    const int32_t *w_offset;        /* int8: -weight zero point per output (NULL when all 0) */
    const int32_t *mult, *shift;
    int32_t qlo, qhi;
} ts_fc_t;

void ts_fc_f32(const ts_fc_t *p, const float *in, float *out);
void ts_fc_s8(const ts_fc_t *p, const int8_t *in, int8_t *out);

/* ---- standalone pooling ---- */
typedef struct {
    int ih, iw, c;
    ts_pool_t pool;
} ts_pool2d_t;

void ts_pool_f32(const ts_pool2d_t *p, const float *in, float *out);
void ts_pool_s8(const ts_pool2d_t *p, const int8_t *in, int8_t *out);

/* ---- elementwise ---- */
typedef struct {
    int size;
    float lo, hi;
    int32_t left_shift, in1_offset, in2_offset, out_offset;
    int32_t in1_mult, in1_shift, in2_mult, in2_shift, out_mult, out_shift;
    int32_t qlo, qhi;
    const int32_t *in1_table, *in2_table; /* int8: each input value's rescaled form, 256 entries */
} ts_add_t;

void ts_add_f32(const ts_add_t *p, const float *a, const float *b, float *out);
void ts_add_s8(const ts_add_t *p, const int8_t *a, const int8_t *b, int8_t *out);

typedef struct {
    int size;
    float lo, hi;
    int32_t requant, in_offset, out_offset, mult, shift, qlo, qhi;
} ts_act_t;

void ts_activation_f32(const ts_act_t *p, const float *in, float *out);
void ts_activation_s8(const ts_act_t *p, const int8_t *in, int8_t *out);

typedef struct {
    int ih, iw, c, pt, pb, pl, pr, elem_size;
    int32_t fill;                   /* the byte value of zero (int8: the zero point) */
} ts_pad_t;

void ts_pad(const ts_pad_t *p, const void *in, void *out);

enum { TS_UNARY_LOGISTIC, TS_UNARY_TANH, TS_UNARY_LEAKY_RELU, TS_UNARY_HARD_SWISH, TS_UNARY_SELU };

typedef struct {
    int size;
    int kind;                       /* TS_UNARY_* (codegen/layers.py UNARY_KIND) */
    float alpha, gamma;
} ts_unary_t;

typedef struct {
    int size;
    const int8_t *table;            /* the output for each input, at index input + 128 */
} ts_lut_t;

void ts_unary_f32(const ts_unary_t *p, const float *in, float *out);
void ts_lut_s8(const ts_lut_t *p, const int8_t *in, int8_t *out);

typedef struct {
    int n;                          /* inputs */
    int outer;                      /* product of the dimensions before the axis */
    const int32_t *bytes;           /* per input: bytes from the axis on (one slice) */
} ts_concat_t;

void ts_concat(const ts_concat_t *p, const void *const *ins, void *out);

typedef struct {
    int size;
    float scale;
    int32_t zero_point;
} ts_qparams_t;

void ts_quantize(const ts_qparams_t *p, const float *in, int8_t *out);
void ts_dequantize(const ts_qparams_t *p, const int8_t *in, float *out);

/* ---- softmax over the last axis ---- */
typedef struct {
    int rows, depth;
    float beta;
    const float *table;             /* int8: expf(-in_scale * beta * d), d = 0..255 */
    float out_scale;
    int32_t out_zero_point;
} ts_softmax_t;

void ts_softmax_f32(const ts_softmax_t *p, const float *in, float *out);
void ts_softmax_s8(const ts_softmax_t *p, const int8_t *in, int8_t *out);

#endif
