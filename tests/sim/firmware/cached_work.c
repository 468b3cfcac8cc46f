/* Caches switched on the way CMSIS's SCB_EnableICache/SCB_EnableDCache do it (Armv7-M ARM B2.2: invalidate,
 * then CCR.IC bit 17 / CCR.DC bit 16), then a marked workload whose code runs from flash and whose data
 * lives in AXI SRAM (0x24000000, RM0433 §2.3.2): both caches matter to it. No vendor code. */
#include <stdint.h>

#include "h743_regs.h"
#include "tinyscope_markers.h"

#define SCB_CCR REG(0xE000ED14u)
#define SCB_CCSIDR REG(0xE000ED80u)
#define SCB_CSSELR REG(0xE000ED84u)
#define SCB_ICIALLU REG(0xE000EF50u)
#define SCB_DCISW REG(0xE000EF60u)
#define AXI_SRAM ((volatile uint32_t *)0x24000000u)
#define WORDS 8192u /* 32 KiB: twice the D-cache */

extern uint32_t SystemCoreClock;
int system_clock_config(void);
void usart3_init(void);
void usart3_puts(const char *s);
void usart3_putu(uint32_t v);

static void barrier(void) { __asm volatile("dsb\n\tisb" ::: "memory"); }

static void enable_caches(void)
{
    barrier();
    SCB_ICIALLU = 0u;
    barrier();
    SCB_CCR |= 1u << 17;
    barrier();
    SCB_CSSELR = 0u; /* level 1 data cache */
    barrier();
    uint32_t ccsidr = SCB_CCSIDR;
    uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1u, ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
    for (uint32_t s = 0; s < sets; s++)
        for (uint32_t w = 0; w < ways; w++)
            SCB_DCISW = (s << 5) | (w << 30);
    barrier();
    SCB_CCR |= 1u << 16;
    barrier();
}

__attribute__((noinline)) uint32_t mix(uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = AXI_SRAM[(i * 7u) & (WORDS / 4u - 1u)];
        h = (h ^ v) * 16777619u;
        AXI_SRAM[i & (WORDS - 1u)] = h;
    }
    return h;
}

int main(void)
{
    int rc = system_clock_config();
    usart3_init();
#ifndef NO_CACHES
    enable_caches();
#endif
    tinyscope_markers_init();
    tinyscope_begin(1);
    for (uint32_t i = 0; i < WORDS; i++)
        AXI_SRAM[i] = i * 2654435761u;
    tinyscope_end(1);
    tinyscope_begin(2);
    uint32_t h = mix(40000u);
    tinyscope_end(2);
    usart3_puts("hash ");
    usart3_putu(h);
    usart3_puts("\r\n");
    return rc;
}
