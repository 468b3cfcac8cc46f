/* Register-level bring-up of the STM32H743 the way a CubeMX SystemClock_Config for 480 MHz does it:
 * LDO supply, VOS1 then VOS0 (ODEN), HSE (8 MHz), PLL1 (M=1, N=120, P=2: 480 MHz), bus prescalers,
 * flash latency 4 / WRHIGHFREQ 2, switch to PLL1; then USART3 at 115200 on PD8 (AF7). RM0433 rev 7. */
#include "h743_regs.h"

uint32_t SystemCoreClock = 64000000u; /* HSI after reset */

static int wait_set(volatile uint32_t *reg, uint32_t mask)
{
    for (uint32_t n = 0; n < 100000u; n++)
        if ((*reg & mask) == mask)
            return 0;
    return -1;
}

/* The core clock from the RCC registers, as HAL_RCC_GetSysClockFreq does (PLL1 from HSE, no fraction) */
uint32_t clock_from_rcc(void)
{
    uint32_t sws = (RCC_CFGR >> 3) & 7u;
    uint32_t sys = 64000000u;
    if (sws == 3u) {
        uint32_t m = (RCC_PLLCKSELR >> 4) & 0x3Fu, n = (RCC_PLL1DIVR & 0x1FFu) + 1u;
        uint32_t p = ((RCC_PLL1DIVR >> 9) & 0x7Fu) + 1u;
        sys = HSE_VALUE / m * n / p;
    } else if (sws == 2u) {
        sys = HSE_VALUE;
    }
    uint32_t d1cpre = (RCC_D1CFGR >> 8) & 0xFu;
    return d1cpre < 8u ? sys : sys >> ((d1cpre & 7u) + 1u);
}

int system_clock_config(void)
{
    PWR_CR3 = (PWR_CR3 & ~0x7u) | 0x2u; /* LDOEN, no bypass, supply configuration locked */
    if (wait_set(&PWR_CSR1, PWR_CSR1_ACTVOSRDY))
        return -1;
    PWR_D3CR = (PWR_D3CR & ~(3u << 14)) | (3u << 14); /* VOS1 */
    if (wait_set(&PWR_D3CR, PWR_D3CR_VOSRDY))
        return -2;
    SYSCFG_PWRCR |= 1u; /* ODEN: VOS0 */
    if (wait_set(&PWR_D3CR, PWR_D3CR_VOSRDY))
        return -3;
    RCC_CR |= RCC_CR_HSEON;
    if (wait_set(&RCC_CR, RCC_CR_HSERDY))
        return -4;
    RCC_PLLCKSELR = (RCC_PLLCKSELR & ~((0x3Fu << 4) | 3u)) | (1u << 4) | 2u; /* DIVM1 = 1, source HSE */
    RCC_PLLCFGR = (RCC_PLLCFGR & ~0xFu) | (3u << 2) | (7u << 16);           /* 8-16 MHz input, P/Q/R on */
    RCC_PLL1DIVR = (119u) | (1u << 9) | (3u << 16) | (1u << 24);            /* N 120, P 2, Q 4, R 2 */
    RCC_CR |= RCC_CR_PLL1ON;
    if (wait_set(&RCC_CR, RCC_CR_PLL1RDY))
        return -5;
    RCC_D1CFGR = (8u << 0) | (4u << 4); /* HPRE /2 (AXI 240 MHz), D1PPRE /2, D1CPRE /1 */
    RCC_D2CFGR = (4u << 4) | (4u << 8); /* D2PPRE1 /2, D2PPRE2 /2 */
    RCC_D3CFGR = (4u << 4);             /* D3PPRE /2 */
    FLASH_ACR = 4u | (2u << 4);         /* LATENCY 4, WRHIGHFREQ 2 (RM0433 table 17, VOS0 at 240 MHz) */
    if ((FLASH_ACR & 0x3Fu) != (4u | (2u << 4)))
        return -6;
    RCC_CFGR = (RCC_CFGR & ~7u) | 3u; /* SW = PLL1 */
    if (wait_set(&RCC_CFGR, 3u << 3))
        return -7;
    SystemCoreClock = clock_from_rcc();
    return 0;
}

void usart3_init(void)
{
    RCC_AHB4ENR |= 1u << 3;   /* GPIODEN */
    RCC_APB1LENR |= 1u << 18; /* USART3EN */
    GPIOD_MODER = (GPIOD_MODER & ~(0xFu << 16)) | (0xAu << 16); /* PD8, PD9 alternate function */
    GPIOD_AFRH = (GPIOD_AFRH & ~0xFFu) | 0x77u;                    /* AF7 */
    USART3_BRR = (SystemCoreClock / 4u) / 115200u;                 /* APB1 at 120 MHz */
    USART3_CR1 = (1u << 3) | 1u;                                   /* TE, UE */
    wait_set(&USART3_ISR, USART_ISR_TEACK);
}

void usart3_puts(const char *s)
{
    for (; *s; s++) {
        while (!(USART3_ISR & USART_ISR_TXE)) {
        }
        USART3_TDR = (uint8_t)*s;
    }
    while (!(USART3_ISR & USART_ISR_TC)) {
    }
}

void usart3_putu(uint32_t v)
{
    char buf[12], *p = buf + sizeof buf - 1;
    *p = 0;
    do {
        *--p = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    usart3_puts(p);
}
