/* printf and scanf of floats and doubles through newlib (nano or full), plus strtod. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile float v = 18.69f;
static volatile double dv = 3.25;
static volatile unsigned cyc = 4036000;

int main(void)
{
    printf("A %f\n", v);
    printf("B %f\n", ((float)cyc * 1000.0f) / 216000000.0f);
    double x = dv;
    for (int i = 0; i < 10; i++)
        x = x * 1.5 + 0.25;
    printf("C %.6f\n", x);
    printf("D %e %g %.3e %10.4f|%-10.2f|\n", x, x / 1e9, 1.0 / 3.0, -x, 0.005);
    printf("E %g %g %g %g\n", 0.0, -0.0, 1e-10, 123456789.0);
    printf("F %.17g %.9g\n", 0.1, (double)0.1f);
    const char *in = "3.14159 -2.5e3 7 0x1p-3 abc";
    float f = 0;
    double d = 0;
    int n = 0, got = sscanf(in, "%f %lf %d", &f, &d, &n);
    printf("S %d %.5f %.1f %d\n", got, f, d, n);
    char *end;
    double t = strtod("1.0000000000000002 rest", &end);
    printf("T %.17g [%s]\n", t, end);
    char buf[64];
    snprintf(buf, sizeof buf, "%.4f/%.2e", 2.0 / 3.0, 6.02214076e23);
    printf("N %s %d\n", buf, (int)strlen(buf));
    double sum = 0;
    for (int i = 0; i < 50; i++) {
        snprintf(buf, sizeof buf, "%.8f", i * 0.37 - 5.0);
        sum += atof(buf);
    }
    printf("R %.8f\n", sum);
    return 0;
}
