/* Start-up for the STM32H743 test firmware: vector table, .data/.bss, FPU, exit over semihosting. */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));

void semihost_exit(int status)
{
    register uint32_t r0 __asm("r0") = 0x18;
    register uint32_t r1 __asm("r1") = status == 0 ? 0x20026u : 0x20023u;
    __asm volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}

void Default_Handler(void)
{
    semihost_exit(1);
}

void Reset_Handler(void)
{
    uint32_t *s = &_sidata, *d = &_sdata;
    while (d < &_edata)
        *d++ = *s++;
    for (d = &_sbss; d < &_ebss;)
        *d++ = 0;
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20; /* CPACR: FPU on */
    __asm volatile("dsb\n isb");
    semihost_exit(main());
}

__attribute__((section(".isr_vector"), used)) void (*const vectors[16])(void) = {
    (void (*)(void))&_estack, Reset_Handler, Default_Handler, HardFault_Handler, Default_Handler, Default_Handler,
    Default_Handler, 0, 0, 0, 0, SVC_Handler, Default_Handler, 0, PendSV_Handler, SysTick_Handler,
};
