/*
 * tinyscope firmware harness: the few Cortex-M7 system registers it touches, by their documented
 * addresses (Armv7-M ARM / Cortex-M7 TRM), and the semihosting calls. No CMSIS headers needed.
 */
#ifndef TS_HARNESS_H
#define TS_HARNESS_H

#include <stdint.h>

#define TS_REG(addr) (*(volatile uint32_t *)(addr))

#define TS_SCB_VTOR   TS_REG(0xE000ED08u)
#define TS_SCB_CCR    TS_REG(0xE000ED14u)   /* bit 17 IC, bit 16 DC */
#define TS_SCB_CCSIDR TS_REG(0xE000ED80u)
#define TS_SCB_CSSELR TS_REG(0xE000ED84u)
#define TS_SCB_CPACR  TS_REG(0xE000ED88u)   /* CP10/CP11 full access: bits 20-23 */
#define TS_SCB_ICIALLU TS_REG(0xE000EF50u)
#define TS_SCB_DCISW  TS_REG(0xE000EF60u)
#define TS_DEMCR      TS_REG(0xE000EDFCu)   /* bit 24 TRCENA */
#define TS_DWT_CTRL   TS_REG(0xE0001000u)   /* bit 0 CYCCNTENA */
#define TS_DWT_CYCCNT TS_REG(0xE0001004u)
#define TS_DWT_LAR    TS_REG(0xE0001FB0u)
#define TS_ITM_STIM1  TS_REG(0xE0000004u)   /* stimulus port 1 */
#define TS_ITM_TER    TS_REG(0xE0000E00u)
#define TS_ITM_TCR    TS_REG(0xE0000E80u)   /* bit 0 ITMENA */
#define TS_ITM_LAR    TS_REG(0xE0000FB0u)

#define TS_CCR_IC (1u << 17)
#define TS_CCR_DC (1u << 16)

#define TS_DSB() __asm volatile("dsb 0xF" ::: "memory")
#define TS_ISB() __asm volatile("isb 0xF" ::: "memory")

/* Semihosting (Arm IHI 0096 / DUI0471): BKPT 0xAB, operation in r0, argument in r1. */
#define TS_SYS_WRITE0 0x04
#define TS_SYS_EXIT 0x18
#define TS_ADP_APPLICATION_EXIT 0x20026
#define TS_ADP_RUNTIME_ERROR 0x20023

static inline int ts_semihost(int op, const void *arg)
{
    register int r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void ts_puts(const char *s);
void ts_exit(int ok) __attribute__((noreturn));
void ts_caches_enable(int icache, int dcache);

#endif
