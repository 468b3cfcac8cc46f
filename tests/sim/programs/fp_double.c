/* Double arithmetic: libgcc's soft-double routines when built for a single-precision FPU, the
 * FPU's double-precision instructions when built for fpv5-d16. Prints exact bit patterns. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile double seed = 3.25, tiny = 1e-300, big = 1.5e300, neg = -7.125;
static volatile float fseed = 18.69f;
static volatile int32_t iv = -123456789;
static volatile uint32_t uv = 4000000000u;
static volatile int64_t lv = -9007199254740993LL;

static void bits(const char *what, double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    printf("%s %08lx%08lx\n", what, (unsigned long)(b >> 32), (unsigned long)b);
}

static double poly(double x)
{
    double r = 0.0;
    for (int k = 9; k >= 0; k--)
        r = r * x + 1.0 / (k + 1);
    return r;
}

int main(void)
{
    double x = seed;
    for (int i = 0; i < 10; i++)
        x = x * 1.5 + 0.25;
    bits("chain", x);
    bits("div", seed / 3.0);
    bits("divneg", neg / seed);
    bits("sqrt", sqrt(seed * 7.0));
    bits("fma", fma(seed, neg, 1.0 / 3.0));
    bits("under", tiny * tiny);
    bits("over", big * big);
    bits("sub", (big - big * (1.0 - 1e-16)));
    bits("poly", poly(seed / 4.0));
    bits("f2d", (double)fseed);
    bits("i2d", (double)iv);
    bits("u2d", (double)uv);
    bits("l2d", (double)lv);
    printf("d2i %ld\n", (long)(int32_t)(neg * 1e6));
    printf("d2u %lu\n", (unsigned long)(uint32_t)(seed * 1e9));
    printf("d2l %lld\n", (long long)(big > 0 ? (int64_t)(seed * 1e15) : 0));
    printf("d2f %08lx\n", (unsigned long)({ float f = (float)(seed / 7.0); uint32_t u; memcpy(&u, &f, 4); u; }));
    printf("cmp %d %d %d %d\n", seed < neg, seed > neg, seed == 3.25, isnan(big * big - big * big));
    double acc = 0.0;
    for (int i = 1; i <= 2000; i++)
        acc += (i & 1 ? 1.0 : -1.0) / (2.0 * i - 1.0);
    bits("leibniz", acc);
    bits("exp", exp(seed / 2.0));
    bits("log", log(seed * 11.0));
    bits("sin", sin(seed));
    bits("pow", pow(seed, 0.3));
    return 0;
}
