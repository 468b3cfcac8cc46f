/* Register-level bring-up of the STM32F746 the way a CubeMX SystemClock_Config for 216 MHz does it:
 * PWR clock, voltage scale 1, HSE (8 MHz bypass), PLL (M=4, N=216, P=2: 216 MHz), over-drive on and
 * switched, flash latency 7, APB1 /4 and APB2 /2, switch to the PLL; then USART3 at 115200 on PD8 (AF7),
 * and the core clock read back from the RCC registers as HAL does. RM0385 rev 8; no vendor code. */
#include <stdint.h>

#include "tinyscope_markers.h"

#define REG(a) (*(volatile uint32_t *)(a))
#define RCC_CR REG(0x40023800u)          /* RM0385 §5.3.1 */
#define RCC_PLLCFGR REG(0x40023804u)     /* §5.3.2 */
#define RCC_CFGR REG(0x40023808u)        /* §5.3.3 */
#define RCC_AHB1ENR REG(0x40023830u)     /* §5.3.10 */
#define RCC_APB1ENR REG(0x40023840u)     /* §5.3.13 */
#define PWR_CR1 REG(0x40007000u)         /* §4.4.1 */
#define PWR_CSR1 REG(0x40007004u)        /* §4.4.2 */
#define FLASH_ACR REG(0x40023C00u)       /* §3.7.1 */
#define GPIOD_MODER REG(0x40020C00u)     /* §6.4.1 */
#define GPIOD_AFRH REG(0x40020C24u)      /* §6.4.10 */
#define USART3_CR1 REG(0x40004800u)      /* §34.8.1 */
#define USART3_BRR REG(0x4000480Cu)      /* §34.8.4 */
#define USART3_ISR REG(0x4000481Cu)      /* §34.8.8 */
#define USART3_TDR REG(0x40004828u)      /* §34.8.11 */
#define HSE_VALUE 8000000u

uint32_t SystemCoreClock = 16000000u; /* HSI after reset */

static int wait_set(volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    for (uint32_t n = 0; n < 100000u; n++)
        if ((*reg & mask) == value)
            return 0;
    return -1;
}

uint32_t clock_from_rcc(void)
{
    uint32_t sws = (RCC_CFGR >> 2) & 3u;
    if (sws == 1u)
        return HSE_VALUE;
    if (sws != 2u)
        return 16000000u;
    uint32_t pll = RCC_PLLCFGR, m = pll & 0x3Fu, n = (pll >> 6) & 0x1FFu, p = (((pll >> 16) & 3u) + 1u) * 2u;
    uint32_t in = (pll & (1u << 22)) ? HSE_VALUE : 16000000u;
    return in / m * n / p;
}

int system_clock_config(void)
{
    RCC_APB1ENR |= 1u << 28;                        /* PWREN */
    PWR_CR1 = (PWR_CR1 & ~(3u << 14)) | (3u << 14); /* VOS scale 1 */
    RCC_CR |= (1u << 18) | (1u << 16);              /* HSEBYP, HSEON */
    if (wait_set(&RCC_CR, 1u << 17, 1u << 17))
        return -1;
    RCC_PLLCFGR = 4u | (216u << 6) | (0u << 16) | (1u << 22) | (9u << 24); /* M 4, N 216, P 2, HSE, Q 9 */
    RCC_CR |= 1u << 24;
    if (wait_set(&RCC_CR, 1u << 25, 1u << 25))
        return -2;
    PWR_CR1 |= 1u << 16; /* ODEN */
    if (wait_set(&PWR_CSR1, 1u << 16, 1u << 16))
        return -3;
    PWR_CR1 |= 1u << 17; /* ODSWEN */
    if (wait_set(&PWR_CSR1, 1u << 17, 1u << 17))
        return -4;
    FLASH_ACR = (FLASH_ACR & ~0xFu) | 7u;
    if ((FLASH_ACR & 0xFu) != 7u)
        return -5;
    RCC_CFGR = (RCC_CFGR & ~((0xFu << 4) | (7u << 10) | (7u << 13))) | (5u << 10) | (4u << 13);
    RCC_CFGR = (RCC_CFGR & ~3u) | 2u; /* SW = PLL */
    if (wait_set(&RCC_CFGR, 3u << 2, 2u << 2))
        return -6;
    SystemCoreClock = clock_from_rcc();
    return 0;
}

static void putc3(char c)
{
    while (!(USART3_ISR & (1u << 7))) { /* TXE */
    }
    USART3_TDR = (uint8_t)c;
}

static void puts3(const char *s)
{
    while (*s)
        putc3(*s++);
    while (!(USART3_ISR & (1u << 6))) { /* TC */
    }
}

int main(void)
{
    int rc = system_clock_config();
    RCC_AHB1ENR |= 1u << 3;                                           /* GPIODEN */
    RCC_APB1ENR |= 1u << 18;                                          /* USART3EN */
    GPIOD_MODER = (GPIOD_MODER & ~(0xFu << 16)) | (0xAu << 16);      /* PD8, PD9 alternate */
    GPIOD_AFRH = (GPIOD_AFRH & ~0xFFu) | 0x77u;                      /* AF7 */
    USART3_BRR = (SystemCoreClock / 4u) / 115200u;                    /* PCLK1 = HCLK / 4 */
    USART3_CR1 = (1u << 3) | (1u << 0);                               /* TE, UE */
    char buf[16];
    uint32_t v = rc == 0 ? SystemCoreClock : 0u;
    int k = 15;
    buf[k] = 0;
    do {
        buf[--k] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    tinyscope_markers_init();
    tinyscope_begin(1);
    puts3("clock ");
    puts3(&buf[k]);
    puts3("\r\n");
    tinyscope_end(1);
    return rc;
}
