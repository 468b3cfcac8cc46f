/* A FreeRTOS-style scheduler at register level (Armv7-M ARM; no vendor code): a 1 ms SysTick at the core
 * clock keeps the tick, every 2nd tick pends PendSV, and PendSV switches between two tasks on their own
 * process stacks; SVC starts the first task. Task 1 runs a marked workload; both print over USART3. */
#include <stdint.h>

#include "h743_regs.h"
#include "tinyscope_markers.h"

#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define SCB_ICSR REG(0xE000ED04u)
#define SCB_SHPR3 REG(0xE000ED20u)

extern uint32_t SystemCoreClock;
int system_clock_config(void);
void usart3_init(void);
void usart3_puts(const char *s);
void usart3_putu(uint32_t v);
void semihost_exit(int status);

volatile uint32_t tick;
volatile uint32_t switches;
volatile uint32_t counts[2];
uint32_t *task_sp[2];
uint32_t current;
static uint32_t stacks[2][256] __attribute__((aligned(8)));

void SysTick_Handler(void)
{
    tick++;
    if ((tick & 1u) == 0u)
        SCB_ICSR = 1u << 28; /* PENDSVSET */
}

void delay_ms(uint32_t ms)
{
    uint32_t t0 = tick;
    while (tick - t0 < ms) {
    }
}

__attribute__((noinline)) uint32_t work(uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ i) * 16777619u;
    return h;
}

static void task0(void)
{
    for (;;) {
        tinyscope_begin(1);
        counts[0] += work(2000) & 1u ? 1u : 1u;
        tinyscope_end(1);
        if (tick >= 20u) {
            usart3_puts("tick ");
            usart3_putu(tick);
            usart3_puts(" switches ");
            usart3_putu(switches);
            usart3_puts(counts[0] && counts[1] ? " both ran\r\n" : " starved\r\n");
            semihost_exit(0);
        }
    }
}

static void task1(void)
{
    for (;;) {
        counts[1]++;
        delay_ms(1);
    }
}

static uint32_t *task_frame(uint32_t *top, void (*entry)(void))
{
    uint32_t *sp = top - 16; /* r4-r11 below the hardware frame r0-r3, r12, lr, pc, xpsr */
    for (int k = 0; k < 16; k++)
        sp[k] = 0;
    sp[8 + 6] = (uint32_t)entry; /* pc */
    sp[8 + 7] = 1u << 24;        /* xPSR: Thumb */
    return sp;
}

__attribute__((naked)) void PendSV_Handler(void)
{
    __asm volatile(
        "mrs r0, psp\n"
        "tst lr, #0x10\n"
        "it eq\n"
        "vstmdbeq r0!, {s16-s31}\n"
        "stmdb r0!, {r4-r11, lr}\n"
        "ldr r1, =current\n"
        "ldr r2, [r1]\n"
        "ldr r3, =task_sp\n"
        "str r0, [r3, r2, lsl #2]\n"
        "eor r2, r2, #1\n"
        "str r2, [r1]\n"
        "ldr r0, [r3, r2, lsl #2]\n"
        "ldr r1, =switches\n"
        "ldr r2, [r1]\n"
        "add r2, r2, #1\n"
        "str r2, [r1]\n"
        "ldmia r0!, {r4-r11, lr}\n"
        "tst lr, #0x10\n"
        "it eq\n"
        "vldmiaeq r0!, {s16-s31}\n"
        "msr psp, r0\n"
        "bx lr\n");
}

__attribute__((naked)) void SVC_Handler(void)
{
    __asm volatile(
        "ldr r3, =task_sp\n"
        "ldr r0, [r3]\n"
        "ldmia r0!, {r4-r11}\n"
        "add r0, r0, #4\n" /* the saved EXC_RETURN: this first return uses the thread/PSP one below */
        "msr psp, r0\n"
        "ldr lr, =0xFFFFFFFD\n"
        "bx lr\n");
}

int main(void)
{
    if (system_clock_config() != 0)
        return 1;
    usart3_init();
    tinyscope_markers_init();
    usart3_puts("clock ");
    usart3_putu(SystemCoreClock);
    usart3_puts("\r\n");
    task_sp[0] = task_frame(&stacks[0][256], task0);
    task_sp[1] = task_frame(&stacks[1][256], task1);
    /* the initial frames hold r4-r11 then the hardware frame; PendSV also keeps EXC_RETURN: add it */
    for (int t = 0; t < 2; t++) {
        uint32_t *sp = task_sp[t] - 1;
        for (int k = 0; k < 8; k++)
            sp[k] = 0;
        sp[8] = 0xFFFFFFFDu;
        task_sp[t] = sp;
    }
    SCB_SHPR3 = (0xFFu << 16) | (0x80u << 24); /* PendSV lowest, SysTick above it */
    SYST_RVR = SystemCoreClock / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* core clock, TICKINT, ENABLE */
    __asm volatile("svc 0");
    return 2;
}
