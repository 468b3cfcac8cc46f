/* PRIMASK and BASEPRI hold a SysTick interrupt off; unmasking takes it (Armv7-M ARM B1.5.4, B3.3). */
#include <stdint.h>

#include "h743_regs.h"

#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define SCB_SHPR3 REG(0xE000ED20u)
#define DWT_CYCCNT REG(0xE0001004u)

void usart3_puts(const char *s);
void usart3_putu(uint32_t v);
volatile uint32_t tick;

void SysTick_Handler(void)
{
    tick++;
}

static void spin(uint32_t cycles)
{
    uint32_t t0 = DWT_CYCCNT;
    while (DWT_CYCCNT - t0 < cycles) {
    }
}

static void show(const char *what, uint32_t v)
{
    usart3_puts(what);
    usart3_putu(v);
    usart3_puts(" ");
}

int main(void)
{
    USART3_CR1 = (1u << 3) | 1u;
    SCB_SHPR3 = 0x80u << 24; /* SysTick priority 0x80 */
    SYST_RVR = 10000u - 1u;
    SYST_CVR = 0;
    __asm volatile("cpsid i" ::: "memory");
    SYST_CSR = 7u;
    spin(35000u);
    show("primask", tick);
    __asm volatile("cpsie i" ::: "memory");
    show("unmasked", tick);
    __asm volatile("msr basepri, %0" ::"r"(0x80u) : "memory"); /* masks priority 0x80 and lower */
    uint32_t t = tick;
    spin(35000u);
    show("basepri80", tick - t);
    __asm volatile("msr basepri, %0" ::"r"(0xC0u) : "memory"); /* 0x80 is above it: taken */
    show("basepriC0", tick - t);
    spin(25000u);
    show("later", tick - t);
    usart3_puts("\r\n");
    return 0;
}
