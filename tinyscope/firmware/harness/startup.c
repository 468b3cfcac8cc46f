/*
 * tinyscope start-up: vector table, copy of every load-from-flash section listed in the linker's
 * copy table (.data, and code/weights placed in RAM or ITCM), .bss and zero-init sections cleared,
 * FPU on, then main(). Lives in section .boot so it always runs from the boot flash, even when the
 * rest of the code is copied to ITCM. Compiled with -ffreestanding so the loops stay loops.
 */
#include "ts_harness.h"

extern uint32_t _estack;
extern const uint32_t __ts_copy_start[], __ts_copy_end[];   /* triples: load, start, end */
extern const uint32_t __ts_zero_start[], __ts_zero_end[];   /* pairs: start, end */
int main(void);

#define BOOT __attribute__((section(".boot"), used))

BOOT __attribute__((noreturn)) void Reset_Handler(void)
{
    TS_SCB_CPACR |= 0xFu << 20;   /* FPU on before any floating-point instruction */
    TS_DSB();
    TS_ISB();
    for (const uint32_t *t = __ts_copy_start; t < __ts_copy_end; t += 3) {
        const uint32_t *src = (const uint32_t *)t[0];
        for (uint32_t *dst = (uint32_t *)t[1]; dst < (uint32_t *)t[2];)
            *dst++ = *src++;
    }
    for (const uint32_t *t = __ts_zero_start; t < __ts_zero_end; t += 2)
        for (uint32_t *dst = (uint32_t *)t[0]; dst < (uint32_t *)t[1];)
            *dst++ = 0;
    TS_DSB();
    TS_ISB();
    main();
    ts_exit(0);
}

BOOT void ts_fault(void)
{
    ts_puts("TS:FAULT\n");
    ts_exit(0x100);
}

void ts_puts(const char *s)
{
    ts_semihost(TS_SYS_WRITE0, s);
}

void ts_exit(int ok)
{
    /* On 32-bit targets SYS_EXIT takes the reason code itself in r1. */
    ts_semihost(TS_SYS_EXIT, (const void *)(ok == 0 ? TS_ADP_APPLICATION_EXIT : TS_ADP_RUNTIME_ERROR));
    for (;;) {
    }
}

/* Invalidate then enable, following the order of CMSIS SCB_EnableICache/SCB_EnableDCache. */
void ts_caches_enable(int icache, int dcache)
{
    if (icache) {
        TS_DSB();
        TS_ISB();
        TS_SCB_ICIALLU = 0;
        TS_DSB();
        TS_ISB();
        TS_SCB_CCR |= TS_CCR_IC;
    } else {
        TS_SCB_CCR &= ~TS_CCR_IC;
    }
    TS_DSB();
    TS_ISB();
    if (dcache) {
        TS_SCB_CSSELR = 0;   /* level 1 data cache */
        TS_DSB();
        uint32_t ccsidr = TS_SCB_CCSIDR;
        uint32_t sets = (ccsidr >> 13) & 0x7FFFu;
        do {
            uint32_t ways = (ccsidr >> 3) & 0x3FFu;
            do {
                TS_SCB_DCISW = ((sets << 5) & 0x3FE0u) | ((ways << 30) & 0xC0000000u);
            } while (ways-- != 0);
        } while (sets-- != 0);
        TS_DSB();
        TS_SCB_CCR |= TS_CCR_DC;
    } else {
        TS_SCB_CCR &= ~TS_CCR_DC;
    }
    TS_DSB();
    TS_ISB();
}

typedef void (*ts_vector_t)(void);
__attribute__((section(".isr_vector"), used)) const ts_vector_t ts_vectors[16] = {
    (ts_vector_t)&_estack, Reset_Handler,
    ts_fault, ts_fault, ts_fault, ts_fault, ts_fault,   /* NMI, HardFault, MemManage, BusFault, Usage */
    0, 0, 0, 0, ts_fault, ts_fault, 0, ts_fault, ts_fault,   /* SVC, DebugMon, PendSV, SysTick */
};
