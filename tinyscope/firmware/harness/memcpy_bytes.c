/*
 * The byte-by-byte memcpy that Arm's own newlib-nano builds contain (newlib string/memcpy.c under
 * __OPTIMIZE_SIZE__, built -Os), for the `nano-bytecopy` libc variant. Compiled -Os in its own object
 * so it replaces the library's memcpy at link time and keeps the name the profiler looks for.
 */
#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t len)
{
    char *d = dst;
    const char *s = src;
    while (len--)
        *d++ = *s++;
    return dst;
}
