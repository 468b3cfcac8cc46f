/* A semihosting workload with region markers and a tail call, for `tinyscope profile FIRMWARE.elf`. */
#include <stdint.h>
#include <stdio.h>

#include "tinyscope_markers.h"

#define N 64

static volatile int32_t a[N * N], b[N * N], c[N * N];

__attribute__((noinline)) int32_t dot(const volatile int32_t *x, const volatile int32_t *y, int n, int stride)
{
    int32_t s = 0;
    for (int k = 0; k < n; k++)
        s += x[k] * y[k * stride];
    return s;
}

__attribute__((noinline)) int32_t scaled_sum(const volatile int32_t *x, int n)
{
    int32_t s = 0;
    for (int k = 0; k < n; k++)
        s += x[k] >> 1;
    return s;
}

/* `return f(...)` with nothing after it: gcc -O2 emits a plain branch (a tail call) to scaled_sum */
__attribute__((noinline)) int32_t checksum(const volatile int32_t *x, int n)
{
    return scaled_sum(x, n);
}

int main(void)
{
    tinyscope_markers_init();
    tinyscope_begin(1);
    for (int i = 0; i < N * N; i++) {
        a[i] = i & 7;
        b[i] = (i * 3) & 15;
    }
    tinyscope_end(1);
    tinyscope_begin(2);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            c[i * N + j] = dot(&a[i * N], &b[j], N, N);
    tinyscope_end(2);
    int32_t total = 0;
    for (int r = 0; r < 4; r++)
        total += checksum(c, N * N);
    printf("checksum %ld\n", (long)total);
    return 0;
}
