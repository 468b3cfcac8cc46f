/* Dense switches: a small one compiles to TBB, one with large case bodies to TBH. */
#include <stdint.h>
#include <stdio.h>

static int __attribute__((noinline)) small(unsigned k, int x)
{
    switch (k) {
    case 0: return x + 1;
    case 1: return x * 3;
    case 2: return x - 7;
    case 3: return x ^ 0x55;
    case 4: return x << 2;
    case 5: return x >> 1;
    case 6: return -x;
    case 7: return x * x;
    case 8: return x | 0x100;
    case 9: return x & 0xF0F;
    case 10: return x + 1000;
    case 11: return 42;
    default: return 0;
    }
}

#define BODY(n) { volatile int t = x; for (int i = 0; i < (n); i++) t = t * 1103515245 + 12345 + i; return t ^ (n); }
#define BIG(n) case n: { int r = x; r = r * (n + 3) + 7; r ^= r >> 5; r += (x << (n % 7)) - (n * 31); \
    r = r * 17 + (x >> 3); r ^= (r << 9) + n; r -= x * (n + 11); r = (r >> 2) ^ (r << 3); \
    r += (int)((unsigned)r % (n + 5u)); r ^= x * 2654435761u; r += r >> 11; return r * (n + 1); }

static int __attribute__((noinline)) large(unsigned k, int x)
{
    switch (k) {
    BIG(0) BIG(1) BIG(2) BIG(3) BIG(4) BIG(5) BIG(6) BIG(7) BIG(8) BIG(9)
    BIG(10) BIG(11) BIG(12) BIG(13) BIG(14) BIG(15) BIG(16) BIG(17) BIG(18) BIG(19)
    BIG(20) BIG(21) BIG(22) BIG(23) BIG(24) BIG(25) BIG(26) BIG(27) BIG(28) BIG(29)
    case 30: BODY(3)
    default: return -1;
    }
}

static const char *__attribute__((noinline)) name(unsigned char c)
{
    switch (c) {
    case 'a': return "alpha";
    case 'b': return "bravo";
    case 'c': return "charlie";
    case 'd': return "delta";
    case 'e': return "echo";
    case 'f': return "foxtrot";
    case 'g': return "golf";
    case 'h': return "hotel";
    default: return "?";
    }
}

int main(void)
{
    uint32_t h = 0;
    for (unsigned k = 0; k < 16; k++)
        for (int x = -5; x < 20; x += 3)
            h = h * 31 + (uint32_t)small(k, x);
    printf("small %08lx\n", (unsigned long)h);
    h = 0;
    for (unsigned k = 0; k < 33; k++)
        for (int x = -40; x < 40; x += 9)
            h = h * 131 + (uint32_t)large(k, x);
    printf("large %08lx\n", (unsigned long)h);
    for (const char *s = "badge-hi"; *s; s++)
        printf("%s ", name((unsigned char)*s));
    printf("\n");
    return 0;
}
