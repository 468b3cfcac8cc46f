/* Standalone max and average pooling, float32 and int8 (average divides by the in-bounds count). */
#include "ts_kernels.h"

void ts_pool_f32(const ts_pool2d_t *p, const float *in, float *out)
{
    const ts_pool_t *pl = &p->pool;
    for (int py = 0; py < pl->oh; py++) {
        for (int px = 0; px < pl->ow; px++) {
            float *dst = out + (py * pl->ow + px) * p->c;
            int count = 0;
            int y0, y1, x0, x1;
            ts_pool_span(py, pl->kh, pl->sh, pl->pt, p->ih, &y0, &y1);
            ts_pool_span(px, pl->kw, pl->sw, pl->pl, p->iw, &x0, &x1);
            for (int y = y0; y < y1; y++) {
                for (int x = x0; x < x1; x++) {
                    const float *src = in + (y * p->iw + x) * p->c;
                    for (int c = 0; c < p->c; c++) {
                        if (count == 0) {
                            dst[c] = src[c];
                        } else if (pl->kind == TS_POOL_MAX) {
                            dst[c] = src[c] > dst[c] ? src[c] : dst[c];
                        } else {
                            dst[c] += src[c];
                        }
                    }
                    count++;
                }
            }
            for (int c = 0; c < p->c; c++) {
                const float v = pl->kind == TS_POOL_AVG ? dst[c] / (float)count : dst[c];
                dst[c] = ts_clampf(v, pl->lo, pl->hi);
            }
        }
    }
}

void ts_pool_s8(const ts_pool2d_t *p, const int8_t *in, int8_t *out)
{
    const ts_pool_t *pl = &p->pool;
    int32_t acc[p->c];
    for (int py = 0; py < pl->oh; py++) {
        for (int px = 0; px < pl->ow; px++) {
            int count = 0;
            int y0, y1, x0, x1;
            ts_pool_span(py, pl->kh, pl->sh, pl->pt, p->ih, &y0, &y1);
            ts_pool_span(px, pl->kw, pl->sw, pl->pl, p->iw, &x0, &x1);
            for (int y = y0; y < y1; y++) {
                for (int x = x0; x < x1; x++) {
                    const int8_t *src = in + (y * p->iw + x) * p->c;
                    for (int c = 0; c < p->c; c++) {
                        if (count == 0) {
                            acc[c] = src[c];
                        } else if (pl->kind == TS_POOL_MAX) {
                            acc[c] = src[c] > acc[c] ? src[c] : acc[c];
                        } else {
                            acc[c] += src[c];
                        }
                    }
                    count++;
                }
            }
            int8_t *dst = out + (py * pl->ow + px) * p->c;
            for (int c = 0; c < p->c; c++) {
                int32_t v = acc[c];
                if (pl->kind == TS_POOL_AVG) {
                    v = v > 0 ? (v + count / 2) / count : (v - count / 2) / count;
                }
                dst[c] = (int8_t)ts_clampi(v, pl->qlo, pl->qhi);
            }
        }
    }
}
