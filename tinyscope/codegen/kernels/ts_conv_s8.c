/* int8 convolution and depthwise convolution (TFLite per-channel quantization), with an optional
 * fused pool computed on the quantized values, as TFLite's pooling ops do.
 *
 * CONV_2D is a matrix product: each output pixel's receptive field (kh x kw x ic, padding as the
 * zero point) is widened once to int16 with the input offset added ("im2col"), then two output
 * channels x two pixels are accumulated per pass, so every weight word is loaded and unpacked once
 * for two pixels and every input word once for two channels. DEPTHWISE_CONV_2D keeps four
 * channels' accumulators in registers and walks only the taps inside the input. On Arm (DSP
 * extension) the inner loops use SXTB16/SXTAB16 and SMLAD/SMLABB; elsewhere portable C computes the
 * same integers. */
#include <string.h>

#include "ts_kernels.h"

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FEATURE_SIMD32)
#include <arm_acle.h>
#define TS_SIMD 1
#else
#define TS_SIMD 0
#endif

static inline int32_t load_word(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v); /* one LDR (the M7 allows unaligned LDR) */
    return v;
}

#if TS_SIMD
/* SXTB16 / SXTAB16 of the odd bytes: the rotate is part of the instruction (GCC does not fold a
 * separate ROR into the intrinsic) */
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

/* The output stage in locals: int8 stores alias everything, so fields read through the
 * parameter pointer would be reloaded after every store. */
typedef struct {
    const int32_t *mult, *shift;
    int32_t off, lo, hi;
} qout_t;

static inline qout_t qout(const ts_conv_t *p)
{
    const qout_t q = {p->mult, p->shift, p->out_offset, p->qlo, p->qhi};
    return q;
}

/* inlined: a call per output channel costs more than the arithmetic */
static inline __attribute__((always_inline)) int8_t requant(qout_t q, int32_t acc, int o)
{
    const int32_t v = ts_requant(acc, q.mult[o], q.shift[o]) + q.off;
    return (int8_t)ts_clampi(v, q.lo, q.hi);
}

/* The column layout of two pixels A and B, interleaved so that one pointer walks both: per group
 * of four k, A's four values, then B's; after the groups, A's K % 4 tail, then B's. Within a group
 * the order is the one SXTB16 and SXTB16 ror 8 unpack a word into, (k, k+2, k+1, k+3), when
 * ic % 4 == 0 (the columns are widened a word at a time); otherwise the columns are in natural order
 * and the generator stores each group of four weights as (k, k+2, k+1, k+3) instead. Either way
 * the first halfword of each column word meets the first byte SXTB16 extracts (layers.py). */
static inline int col_pos(int k, int k4, int tail, int which, int natural)
{
    static const unsigned char swap[4] = {0, 2, 1, 3};
    return k < k4 ? 2 * (k & ~3) + 4 * which + (natural ? k & 3 : swap[k & 3]) : 2 * k4 + which * tail + (k - k4);
}

/* The receptive field of output pixel (oy, ox) as int16 (x - zero point), padding as 0, into
 * slot `which` of the pair's columns. */
static void im2col(const ts_conv_t *p, const int8_t *in, int oy, int ox, int16_t *col, int which)
{
    const int ic = p->ic;
    const int k_size = p->kh * p->kw * ic;
    const int k4 = k_size & ~3;
    const int iy0 = oy * p->sh - p->pt;
    const int ix0 = ox * p->sw - p->pl;
    const int32_t off = p->in_offset;
#if TS_SIMD
    if ((ic & 3) == 0) {
        const int32_t off2 = (int32_t)(((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16));
        int32_t *dst = (int32_t *)(void *)col + 2 * which;
        for (int ky = 0; ky < p->kh; ky++) {
            const int iy = iy0 + ky * p->dh;
            for (int kx = 0; kx < p->kw; kx++) {
                const int ix = ix0 + kx * p->dw;
                if (iy < 0 || iy >= p->ih || ix < 0 || ix >= p->iw) {
                    for (int c = 0; c < ic; c += 4, dst += 4) {
                        dst[0] = 0;
                        dst[1] = 0;
                    }
                    continue;
                }
                const int8_t *x = in + (iy * p->iw + ix) * ic;
#pragma GCC unroll 4
                for (int c = 0; c < ic; c += 4, dst += 4) {
                    const int32_t xv = load_word(x + c);
                    dst[0] = __sxtab16(off2, xv);
                    dst[1] = sxtab16_odd(off2, xv);
                }
            }
        }
        return;
    }
#endif
    const int tail = k_size - k4;
    if (ic == 1 && p->kh == 3 && p->kw == 3) {
        /* the common first layer: nine taps straight-line, k 0-3 and 4-7 as groups, k 8 the tail */
        int16_t v[9];
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++) {
            const int iy = iy0 + ky * p->dh;
            const int row_inside = iy >= 0 && iy < p->ih;
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++) {
                const int ix = ix0 + kx * p->dw;
                v[ky * 3 + kx] = (int16_t)(row_inside && ix >= 0 && ix < p->iw ? in[iy * p->iw + ix] + off : 0);
            }
        }
        int16_t *d = col + 4 * which;
        d[0] = v[0], d[1] = v[1], d[2] = v[2], d[3] = v[3];
        d[8] = v[4], d[9] = v[5], d[10] = v[6], d[11] = v[7];
        col[16 + which] = v[8];
        return;
    }
    if (ic == 3 && p->kh == 3 && p->kw == 3) {
        /* an RGB first layer: 27 values straight-line into v, then six groups and a tail of 3 */
        int16_t v[27];
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++) {
            const int iy = iy0 + ky * p->dh;
            const int row_inside = iy >= 0 && iy < p->ih;
#pragma GCC unroll 3
            for (int kx = 0; kx < 3; kx++) {
                const int ix = ix0 + kx * p->dw;
                int16_t *dv = v + (ky * 3 + kx) * 3;
                if (row_inside && ix >= 0 && ix < p->iw) {
                    const int8_t *x = in + (iy * p->iw + ix) * 3;
                    dv[0] = (int16_t)(x[0] + off), dv[1] = (int16_t)(x[1] + off), dv[2] = (int16_t)(x[2] + off);
                } else {
                    dv[0] = 0, dv[1] = 0, dv[2] = 0;
                }
            }
        }
        int16_t *d = col + 4 * which;
#pragma GCC unroll 6
        for (int g = 0; g < 6; g++, d += 8) {
            memcpy(d, v + 4 * g, 4 * sizeof *d);
        }
        d = col + 48 + 3 * which;
        d[0] = v[24], d[1] = v[25], d[2] = v[26];
        return;
    }
    if (ic == 1) {
        /* one input channel, any kernel (KWS: 10x4): a kernel row is a run of input pixels,
         * gathered without a per-tap channel loop, then copied four values at a time */
        int16_t v[k_size];
        int16_t *dv = v;
        for (int ky = 0; ky < p->kh; ky++, dv += p->kw) {
            const int iy = iy0 + ky * p->dh;
            const int8_t *xr = in + iy * p->iw + ix0;
            if (iy >= 0 && iy < p->ih && ix0 >= 0 && ix0 + (p->kw - 1) * p->dw < p->iw) {
                for (int kx = 0; kx < p->kw; kx++) {
                    dv[kx] = (int16_t)(xr[kx * p->dw] + off);
                }
            } else {
                for (int kx = 0; kx < p->kw; kx++) {
                    const int ix = ix0 + kx * p->dw;
                    dv[kx] = (int16_t)(iy >= 0 && iy < p->ih && ix >= 0 && ix < p->iw ? xr[kx * p->dw] + off : 0);
                }
            }
        }
        int16_t *d = col + 4 * which;
        for (int k = 0; k < k4; k += 4, d += 8) {
            memcpy(d, v + k, 4 * sizeof *d);
        }
        for (int k = k4; k < k_size; k++) {
            col[2 * k4 + which * tail + (k - k4)] = v[k];
        }
        return;
    }
    if ((ic & 3) != 0) {
        /* natural order: four values, skip the other pixel's four, ...; then the tail */
        int16_t *d = col + 4 * which;
        int k = 0;
        for (int ky = 0; ky < p->kh; ky++) {
            const int iy = iy0 + ky * p->dh;
            const int row_inside = iy >= 0 && iy < p->ih;
            for (int kx = 0; kx < p->kw; kx++) {
                const int ix = ix0 + kx * p->dw;
                const int inside = row_inside && ix >= 0 && ix < p->iw;
                const int8_t *x = in + (iy * p->iw + ix) * ic;
                for (int c = 0; c < ic; c++) {
                    if (k == k4) {
                        d = col + 2 * k4 + which * tail;
                    }
                    *d++ = (int16_t)(inside ? x[c] + off : 0);
                    k++;
                    if ((k & 3) == 0 && k <= k4) {
                        d += 4;
                    }
                }
            }
        }
        return;
    }
    int k = 0;
    for (int ky = 0; ky < p->kh; ky++) {
        const int iy = iy0 + ky * p->dh;
        for (int kx = 0; kx < p->kw; kx++) {
            const int ix = ix0 + kx * p->dw;
            const int inside = iy >= 0 && iy < p->ih && ix >= 0 && ix < p->iw;
            const int8_t *x = in + (iy * p->iw + ix) * ic;
            for (int c = 0; c < ic; c++, k++) {
                col[col_pos(k, k4, tail, which, 0)] = (int16_t)(inside ? x[c] + off : 0);
            }
        }
    }
}

#if !TS_SIMD
/* one group of four k in the column order against four natural-order weights */
static inline int32_t dot4(const int16_t *c, const int8_t *w, int32_t acc)
{
    return acc + c[0] * w[0] + c[1] * w[2] + c[2] * w[1] + c[3] * w[3];
}
#endif

/* All output channels of pixels A and B from their columns: 2 channels x 2 pixels per pass, one
 * pointer into the columns and one into the channel pair's weights. */
static void matmul(const ts_conv_t *p, const int16_t *col, int8_t *da, int8_t *db)
{
    const int8_t *w = (const int8_t *)p->weights;
    const int32_t *bias = (const int32_t *)p->bias;
    const int k_size = p->kh * p->kw * p->ic;
    const int k4 = k_size & ~3;
    const int tail = k_size - k4;
    const int oc = p->oc;
    const qout_t q = qout(p);
    const int16_t *const col_end = col + 2 * k4;
    int o = 0;
    for (; o + 2 <= oc; o += 2) {
        const int8_t *wp = w + o * k_size;
        const int16_t *c = col;
        int32_t a00 = bias[o], a01 = bias[o], a10 = bias[o + 1], a11 = bias[o + 1];
#pragma GCC unroll 4
        for (; c < col_end; c += 8, wp += 8) {
#if TS_SIMD
            const int32_t wa = load_word(wp), wb = load_word(wp + 4);
            const int32_t wa_e = __sxtb16(wa), wa_o = sxtb16_odd(wa);
            const int32_t wb_e = __sxtb16(wb), wb_o = sxtb16_odd(wb);
            int32_t x = load_word(c);
            a00 = __smlad(x, wa_e, a00);
            a10 = __smlad(x, wb_e, a10);
            x = load_word(c + 2);
            a00 = __smlad(x, wa_o, a00);
            a10 = __smlad(x, wb_o, a10);
            x = load_word(c + 4);
            a01 = __smlad(x, wa_e, a01);
            a11 = __smlad(x, wb_e, a11);
            x = load_word(c + 6);
            a01 = __smlad(x, wa_o, a01);
            a11 = __smlad(x, wb_o, a11);
#else
            a00 = dot4(c, wp, a00);
            a10 = dot4(c, wp + 4, a10);
            a01 = dot4(c + 4, wp, a01);
            a11 = dot4(c + 4, wp + 4, a11);
#endif
        }
        for (int k = 0; k < tail; k++) {
            a00 += c[k] * wp[k];
            a10 += c[k] * wp[tail + k];
            a01 += c[tail + k] * wp[k];
            a11 += c[tail + k] * wp[tail + k];
        }
        /* all four results before any store: an int8 store may alias the multipliers, which
         * would otherwise be loaded again for every output */
        const int8_t r00 = requant(q, a00, o), r10 = requant(q, a10, o + 1);
        const int8_t r01 = requant(q, a01, o), r11 = requant(q, a11, o + 1);
        da[o] = r00;
        da[o + 1] = r10;
        if (db) {
            db[o] = r01;
            db[o + 1] = r11;
        }
    }
    if (o < oc) { /* an odd last channel: natural-order weights */
        const int natural = (p->ic & 3) != 0;
        const int8_t *w0 = w + o * k_size;
        int32_t a0 = bias[o], a1 = bias[o];
        for (int k = 0; k < k_size; k++) {
            a0 += col[col_pos(k, k4, tail, 0, natural)] * w0[k];
            a1 += col[col_pos(k, k4, tail, 1, natural)] * w0[k];
        }
        da[o] = requant(q, a0, o);
        if (db) {
            db[o] = requant(q, a1, o);
        }
    }
}

/* One or two conv pixels; a lone pixel fills both slots and is stored once. */
static void conv_pixels(const ts_conv_t *p, const int8_t *in, const int *yx, int n, int8_t *da, int8_t *db,
                        int16_t *col)
{
    const int b = n > 1 ? 2 : 0;
    im2col(p, in, yx[0], yx[1], col, 0);
    im2col(p, in, yx[b], yx[b + 1], col, 1);
    matmul(p, col, da, n > 1 ? db : 0);
}

#if TS_SIMD
typedef struct {
    const int8_t *x, *w;        /* first tap inside the input, and its weights */
    const int32_t *bias;
    int row, col, oc;           /* input steps between kernel rows and columns; weight step per tap */
    int32_t off2;               /* the input offset in both halves */
} dw_args_t;

/* A 3x3 depthwise pixel whose inside taps form an nr x nc block (nr, nc constants after
 * inlining, so the taps are straight-line): four channels per pass, accumulators in registers. */
static inline __attribute__((always_inline)) void dw3(const dw_args_t a, const qout_t q, int8_t *px, const int nr,
                                                      const int nc)
{
    for (int o = 0; o < a.oc; o += 4) {
        int32_t a0 = a.bias[o], a1 = a.bias[o + 1], a2 = a.bias[o + 2], a3 = a.bias[o + 3];
#pragma GCC unroll 3
        for (int r = 0; r < nr; r++) {
#pragma GCC unroll 3
            for (int j = 0; j < nc; j++) {
                const int32_t xv = load_word(a.x + r * a.row + j * a.col + o);
                const int32_t wv = load_word(a.w + (r * 3 + j) * a.oc + o);
                const int32_t xe = __sxtab16(a.off2, xv), xo = sxtab16_odd(a.off2, xv);
                const int32_t we = __sxtb16(wv), wo = sxtb16_odd(wv);
                a0 = __smlabb(xe, we, a0);
                a2 = __smlatt(xe, we, a2);
                a1 = __smlabb(xo, wo, a1);
                a3 = __smlatt(xo, wo, a3);
            }
        }
        const int8_t r0 = requant(q, a0, o), r1 = requant(q, a1, o + 1);
        const int8_t r2 = requant(q, a2, o + 2), r3 = requant(q, a3, o + 3);
        px[o] = r0, px[o + 1] = r1, px[o + 2] = r2, px[o + 3] = r3;
    }
}
#endif

/* All channels of depthwise output pixel (oy, ox); only the taps inside the input are visited. */
static void depthwise_pixel(const ts_conv_t *p, const int8_t *in, int oy, int ox, int8_t *px)
{
    const int8_t *w = (const int8_t *)p->weights;
    const int32_t *bias = (const int32_t *)p->bias;
    const int m = p->depth_multiplier;
    const int ic = p->ic, oc = p->oc;
    const int iy0 = oy * p->sh - p->pt;
    const int ix0 = ox * p->sw - p->pl;
    const int ky0 = iy0 < 0 ? (-iy0 + p->dh - 1) / p->dh : 0;
    const int kx0 = ix0 < 0 ? (-ix0 + p->dw - 1) / p->dw : 0;
    int ky1 = (p->ih - iy0 + p->dh - 1) / p->dh;
    int kx1 = (p->iw - ix0 + p->dw - 1) / p->dw;
    ky1 = ky1 < p->kh ? ky1 : p->kh;
    kx1 = kx1 < p->kw ? kx1 : p->kw;
    const int32_t off = p->in_offset;
    const int row = p->dh * p->iw * ic; /* input step between taps: one kernel row, one column */
    const int col = p->dw * ic;
    const int8_t *x0 = in + ((iy0 + ky0 * p->dh) * p->iw + ix0 + kx0 * p->dw) * ic;
    const int8_t *w00 = w + (ky0 * p->kw + kx0) * oc;
    const int kw = p->kw;
    const qout_t q = qout(p);
    int o = 0;
#if TS_SIMD
    if (m == 1 && (ic & 3) == 0) {
        const int32_t off2 = (int32_t)(((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16));
        const int nr = ky1 - ky0, nc = kx1 - kx0;
        if (p->kh == 3 && kw == 3 && nr == 3 && nc >= 2) {
            /* 3x3 inside, or with the left or right column outside: the taps straight-line (the
             * top and bottom rows take the loop below: fewer pixels, and code size) */
            const dw_args_t a = {x0, w00, bias, row, col, oc, off2};
            if (nc == 3) {
                dw3(a, q, px, 3, 3);
            } else {
                dw3(a, q, px, 3, 2);
            }
            return;
        }
        for (; o < oc; o += 4) {
            int32_t a0 = bias[o], a1 = bias[o + 1], a2 = bias[o + 2], a3 = bias[o + 3];
            const int8_t *xr = x0 + o;
            const int8_t *wr = w00 + o;
            for (int ky = ky0; ky < ky1; ky++, xr += row, wr += kw * oc) {
                const int8_t *x = xr;
                const int8_t *wk = wr;
                for (int kx = kx0; kx < kx1; kx++, x += col, wk += oc) {
                    const int32_t xv = load_word(x), wv = load_word(wk);
                    const int32_t xe = __sxtab16(off2, xv), xo = sxtab16_odd(off2, xv);
                    const int32_t we = __sxtb16(wv), wo = sxtb16_odd(wv);
                    a0 = __smlabb(xe, we, a0);
                    a2 = __smlatt(xe, we, a2);
                    a1 = __smlabb(xo, wo, a1);
                    a3 = __smlatt(xo, wo, a3);
                }
            }
            const int8_t r0 = requant(q, a0, o), r1 = requant(q, a1, o + 1);
            const int8_t r2 = requant(q, a2, o + 2), r3 = requant(q, a3, o + 3);
            px[o] = r0, px[o + 1] = r1, px[o + 2] = r2, px[o + 3] = r3;
        }
        return;
    }
#endif
    for (; o < oc; o++) {
        const int c = m == 1 ? o : o / m; /* once per channel, not per tap */
        int32_t a0 = bias[o];
        const int8_t *xr = x0 + c;
        const int8_t *wr = w00 + o;
        for (int ky = ky0; ky < ky1; ky++, xr += row, wr += kw * oc) {
            const int8_t *x = xr;
            const int8_t *wk = wr;
            for (int kx = kx0; kx < kx1; kx++, x += col, wk += oc) {
                a0 += (*x + off) * *wk;
            }
        }
        px[o] = requant(q, a0, o);
    }
}

/* TFLite's int8 average: round half away from zero of sum / count. */
static int32_t average(int32_t sum, int32_t count)
{
    return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

/* Computes the conv pixels listed in yx (n of them, at most two) into da and db. */
typedef struct {
    const ts_conv_t *p;
    const int8_t *in;
    int depthwise;
    int16_t *col;
} job_t;

static void pixels(const job_t *j, const int *yx, int n, int8_t *da, int8_t *db)
{
    if (j->depthwise) {
        depthwise_pixel(j->p, j->in, yx[0], yx[1], da);
        if (n > 1) {
            depthwise_pixel(j->p, j->in, yx[2], yx[3], db);
        }
    } else {
        conv_pixels(j->p, j->in, yx, n, da, db, j->col);
    }
}

/* Two conv pixels per call (consecutive in raster order), or through the pool window. */
static void drive(const job_t *j, int8_t *out)
{
    const ts_conv_t *p = j->p;
    const ts_pool_t *pl = &p->pool;
    const int oc = p->oc;
    if (pl->kind == TS_POOL_NONE) {
        const int total = p->oh * p->ow;
        for (int i = 0; i < total; i += 2) {
            const int yx[4] = {i / p->ow, i % p->ow, (i + 1) / p->ow, (i + 1) % p->ow};
            pixels(j, yx, i + 1 < total ? 2 : 1, out + i * oc, out + (i + 1) * oc);
        }
        return;
    }
    int8_t px[2 * oc];
    int32_t acc[oc];
    int yx[2 * pl->kh * pl->kw];
    for (int py = 0; py < pl->oh; py++) {
        for (int qx = 0; qx < pl->ow; qx++) {
            int count = 0, y0, y1, x0, x1;
            ts_pool_span(py, pl->kh, pl->sh, pl->pt, p->oh, &y0, &y1);
            ts_pool_span(qx, pl->kw, pl->sw, pl->pl, p->ow, &x0, &x1);
            for (int cy = y0; cy < y1; cy++) {
                for (int cx = x0; cx < x1; cx++) {
                    yx[2 * count] = cy;
                    yx[2 * count + 1] = cx;
                    count++;
                }
            }
            for (int n = 0; n < count; n += 2) {
                const int two = n + 1 < count ? 2 : 1;
                pixels(j, yx + 2 * n, two, px, px + oc);
                for (int t = 0; t < two; t++) {
                    const int8_t *v = px + t * oc;
                    for (int o = 0; o < oc; o++) {
                        if (n + t == 0) {
                            acc[o] = v[o];
                        } else if (pl->kind == TS_POOL_MAX) {
                            acc[o] = v[o] > acc[o] ? v[o] : acc[o];
                        } else {
                            acc[o] += v[o];
                        }
                    }
                }
            }
            int8_t *dst = out + (py * pl->ow + qx) * oc;
            for (int o = 0; o < oc; o++) {
                const int32_t v = pl->kind == TS_POOL_AVG ? average(acc[o], count) : acc[o];
                dst[o] = (int8_t)ts_clampi(v, pl->qlo, pl->qhi);
            }
        }
    }
}

void ts_conv2d_s8(const ts_conv_t *p, const int8_t *in, int8_t *out)
{
    const int k_size = p->kh * p->kw * p->ic;
    int32_t col[k_size]; /* two int16 columns (k_size each), word aligned */
    const job_t j = {p, in, 0, (int16_t *)(void *)col};
    drive(&j, out);
}

void ts_depthwise_s8(const ts_conv_t *p, const int8_t *in, int8_t *out)
{
    const job_t j = {p, in, 1, 0};
    drive(&j, out);
}
