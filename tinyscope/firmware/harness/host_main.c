/*
 * tinyscope host harness: runs the generated network in its own process, so that nothing built
 * from a model ever runs inside tinyscope. Compiled with -include NAME.h and
 * -DTS_RUN=NAME_run -DTS_IN_SIZE=NAME_INPUT_SIZE -DTS_OUT_SIZE=NAME_OUTPUT_SIZE.
 *
 * Protocol: stdin holds whole input samples back to back (raw, as in memory); for each one,
 * stdout gets the output (raw). Exit 0 at the end of stdin; 3 on a partial sample, 4 when the
 * network returns non-zero, 5 when stdout fails.
 */
#include <stdio.h>

static unsigned char ts_in[TS_IN_SIZE] __attribute__((aligned(16)));
static unsigned char ts_out[TS_OUT_SIZE] __attribute__((aligned(16)));

int main(void)
{
    for (;;) {
        size_t n = fread(ts_in, 1, sizeof ts_in, stdin);
        if (n == 0 && feof(stdin))
            return 0;
        if (n != sizeof ts_in)
            return 3;
        if (TS_RUN(ts_in, ts_out) != 0)
            return 4;
        if (fwrite(ts_out, 1, sizeof ts_out, stdout) != sizeof ts_out)
            return 5;
    }
}
