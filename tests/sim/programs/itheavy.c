/* Code that compiles to many IT blocks (clamps, min/max, selects, saturation), and the hand-written
 * IT shapes of it_shapes.S: conditional returns through pop/ldr/ldm/bx, loads and stores at every
 * position of 1- to 4-instruction blocks, a conditional TBB, FP loads, and a block across a page. */
#include <stdint.h>
#include <stdio.h>

int it_shapes(int x, int y, int32_t *mem);

static int32_t __attribute__((noinline)) clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int8_t __attribute__((noinline)) sat8(int32_t v)
{
    if (v > 127)
        return 127;
    if (v < -128)
        return -128;
    return (int8_t)v;
}

static uint32_t __attribute__((noinline)) mix(const int32_t *a, int n)
{
    uint32_t h = 0;
    int32_t mn = a[0], mx = a[0];
    for (int i = 0; i < n; i++) {
        int32_t v = a[i];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        int32_t ab = v < 0 ? -v : v;
        h = h * 33 + (uint32_t)(ab > 500 ? ab - 500 : ab + 3) + (uint32_t)sat8(v / 4) + (uint32_t)clamp(v, -99, 99);
        if (v & 1)
            h ^= (uint32_t)v;
        else
            h += (uint32_t)mn;
    }
    return h ^ (uint32_t)mx;
}

static int32_t data[256];
static int32_t scratch[64];

int main(void)
{
    /* The IT shapes run before the first semihosting call: unicorn skips the hook-time state restore
     * (which leaks the IT bits) after a register write of the PC, which serving a call does. */
    uint32_t h = 0;
    for (int x = -6; x <= 6; x++)
        for (int y = -6; y <= 6; y += 2) {
            for (int k = 0; k < 64; k++)
                scratch[k] = k * 3 - x;
            int r = it_shapes(x, y, scratch);
            h = h * 1000003u + (uint32_t)r;
            for (int k = 0; k < 64; k++)
                h = h * 31 + (uint32_t)scratch[k];
        }
    uint32_t s = 7;
    for (int i = 0; i < 256; i++) {
        s = s * 1664525u + 1013904223u;
        data[i] = (int32_t)(s >> 20) - 2048;
    }
    uint32_t m = mix(data, 256);
    printf("shapes %08lx\n", (unsigned long)h);
    printf("mix %08lx\n", (unsigned long)m);
    return 0;
}
