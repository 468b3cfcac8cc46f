/* qsort and bsearch over ints, doubles, strings and structs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 12345;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}
static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

struct rec {
    int key;
    char name[6];
    double w;
};
static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int ints[700];
static double dbls[300];
static struct rec recs[120];

int main(void)
{
    for (unsigned i = 0; i < 700; i++)
        ints[i] = (int)(next() % 2001) - 1000;
    qsort(ints, 700, sizeof ints[0], cmp_int);
    int ok = 1;
    long sum = 0;
    for (unsigned i = 0; i < 700; i++) {
        ok &= i == 0 || ints[i - 1] <= ints[i];
        sum += (long)ints[i] * (long)(i + 1);
    }
    int key = ints[350];
    int *hit = bsearch(&key, ints, 700, sizeof ints[0], cmp_int);
    printf("ints %d %ld %d %d\n", ok, sum, ints[0], hit != NULL && *hit == key);
    for (unsigned i = 0; i < 300; i++)
        dbls[i] = (double)(int32_t)next() / 3.0;
    qsort(dbls, 300, sizeof dbls[0], cmp_dbl);
    ok = 1;
    for (unsigned i = 1; i < 300; i++)
        ok &= dbls[i - 1] <= dbls[i];
    printf("dbls %d %.3f %.3f\n", ok, dbls[0], dbls[299]);
    static char pool[64][8];
    char *strs[64];
    for (unsigned i = 0; i < 64; i++) {
        for (unsigned k = 0; k < 7; k++)
            pool[i][k] = (char)('a' + next() % 26);
        pool[i][7] = 0;
        strs[i] = pool[i];
    }
    qsort(strs, 64, sizeof strs[0], cmp_str);
    printf("strs %s %s %s\n", strs[0], strs[31], strs[63]);
    for (unsigned i = 0; i < 120; i++) {
        recs[i].key = (int)(next() % 17);
        snprintf(recs[i].name, sizeof recs[i].name, "r%03u", (unsigned)(next() % 1000));
        recs[i].w = i * 0.5;
    }
    qsort(recs, 120, sizeof recs[0], cmp_rec);
    double w = 0;
    for (unsigned i = 0; i < 120; i++)
        w += recs[i].w * (i + 1);
    printf("recs %d %s %d %s %.1f\n", recs[0].key, recs[0].name, recs[119].key, recs[119].name, w);
    return 0;
}
