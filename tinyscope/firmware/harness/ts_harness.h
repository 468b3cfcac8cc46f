/*
 * tinyscope firmware harness: its functions; the registers and semihosting numbers come from the
 * generated ts_regs.h. No CMSIS headers needed.
 */
#ifndef TS_HARNESS_H
#define TS_HARNESS_H

#include <stdint.h>

#include "ts_regs.h"  /* addresses and operation numbers, generated from tinyscope/targets/armv7m.py */

#define TS_DSB() __asm volatile("dsb 0xF" ::: "memory")
#define TS_ISB() __asm volatile("isb 0xF" ::: "memory")

/* Semihosting (Arm IHI 0096): BKPT 0xAB, operation in r0, argument in r1. */
static inline int ts_semihost(int op, const void *arg)
{
    register int r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile(TS_SEMIHOSTING_BKPT : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void ts_puts(const char *s);
void ts_exit(int ok) __attribute__((noreturn));
void ts_caches_enable(int icache, int dcache);

#endif
