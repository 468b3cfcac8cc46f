/* setjmp/longjmp: from nested calls, through recursion, with live callee-saved FP registers. */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf top, inner;
static volatile int depth_reached;

static int __attribute__((noinline)) dive(int n, double acc)
{
    depth_reached = n;
    if (n == 0)
        longjmp(top, (int)acc);
    return dive(n - 1, acc * 1.25 + n) + 1;
}

static int __attribute__((noinline)) step(int k)
{
    if (k % 3 == 0)
        longjmp(inner, k + 100);
    return k * 2;
}

int main(void)
{
    volatile double keep = 2.5;
    register double live = 1.75;
    int r = setjmp(top);
    if (r == 0)
        dive(12, 1.0);
    printf("top %d %d %.2f %.2f\n", r, depth_reached, keep, live);
    int total = 0;
    for (int k = 1; k <= 10; k++) {
        int v = setjmp(inner);
        if (v == 0)
            total += step(k);
        else
            total += v;
    }
    printf("inner %d\n", total);
    float f = 0.5f;
    for (int i = 0; i < 5; i++) {
        if (setjmp(inner) == 0) {
            f *= 3.0f;
            longjmp(inner, 1);
        }
        f += 0.25f;
    }
    printf("float %.4f\n", (double)f);
    return 0;
}
