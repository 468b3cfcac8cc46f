/* STM32H743 registers used by the test firmware, from RM0433 rev 7 (section per block). No vendor code. */
#ifndef H743_REGS_H
#define H743_REGS_H
#include <stdint.h>

#define REG(a) (*(volatile uint32_t *)(a))

/* RCC, RM0433 §8.7 (base 0x58024400) */
#define RCC_BASE 0x58024400u
#define RCC_CR REG(RCC_BASE + 0x00u)
#define RCC_CFGR REG(RCC_BASE + 0x10u)
#define RCC_D1CFGR REG(RCC_BASE + 0x18u)
#define RCC_D2CFGR REG(RCC_BASE + 0x1Cu)
#define RCC_D3CFGR REG(RCC_BASE + 0x20u)
#define RCC_PLLCKSELR REG(RCC_BASE + 0x28u)
#define RCC_PLLCFGR REG(RCC_BASE + 0x2Cu)
#define RCC_PLL1DIVR REG(RCC_BASE + 0x30u)
#define RCC_AHB4ENR REG(RCC_BASE + 0xE0u)
#define RCC_APB1LENR REG(RCC_BASE + 0xE8u)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLL1ON (1u << 24)
#define RCC_CR_PLL1RDY (1u << 25)

/* PWR, RM0433 §6.8 (base 0x58024800) */
#define PWR_BASE 0x58024800u
#define PWR_CSR1 REG(PWR_BASE + 0x04u)
#define PWR_CR3 REG(PWR_BASE + 0x0Cu)
#define PWR_D3CR REG(PWR_BASE + 0x18u)
#define PWR_CSR1_ACTVOSRDY (1u << 13)
#define PWR_D3CR_VOSRDY (1u << 13)

/* SYSCFG PWRCR, RM0433 §12.3 (base 0x58000400): ODEN selects VOS0 on top of VOS1 */
#define SYSCFG_PWRCR REG(0x58000400u + 0x2Cu)

/* FLASH ACR, RM0433 §4.9.1 */
#define FLASH_ACR REG(0x52002000u)

/* GPIOD, RM0433 §11.4 (base 0x58020C00) */
#define GPIOD_MODER REG(0x58020C00u + 0x00u)
#define GPIOD_AFRH REG(0x58020C00u + 0x24u)

/* USART3, RM0433 §48.7 (base 0x40004800) */
#define USART3_BASE 0x40004800u
#define USART3_CR1 REG(USART3_BASE + 0x00u)
#define USART3_BRR REG(USART3_BASE + 0x0Cu)
#define USART3_ISR REG(USART3_BASE + 0x1Cu)
#define USART3_TDR REG(USART3_BASE + 0x28u)
#define USART_ISR_TC (1u << 6)
#define USART_ISR_TXE (1u << 7)
#define USART_ISR_TEACK (1u << 21)

#define HSE_VALUE 8000000u

#endif
