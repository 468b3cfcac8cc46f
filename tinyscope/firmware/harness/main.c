/*
 * tinyscope harness main: run the network once with interrupts off, timing it with DWT CYCCNT.
 *
 * Output protocol (one line each, via semihosting SYS_WRITE0), parsed by tinyscope.firmware.protocol:
 *   TS:BEGIN <layer count>
 *   TS:LAYER <index> <start> <end>     cycles since the run started, at each layer's hook calls
 *   TS:CYCLES <n>                      cycles of the whole network_run call
 *   TS:STATUS <network_run's return>
 *   TS:STACK <bytes>                   deepest stack use seen (the stack is painted before the run)
 *   TS:OUT <dtype> <count> <bytes>     then TS:HEX lines of up to 64 bytes (little-endian, as in memory)
 *   TS:END
 * ITM: at each layer start/end, TS_ITM_LAYER_WORD(layer, end) goes to stimulus port TS_ITM_LAYER_PORT
 * (both from tinyscope/targets/armv7m.py).
 */
#include "network.h"
#include "ts_harness.h"

#ifndef TS_ICACHE
#define TS_ICACHE 1
#endif
#ifndef TS_DCACHE
#define TS_DCACHE 1
#endif

extern const uint8_t ts_input[];
extern uint32_t __ts_stack_bottom[], _estack[];
static uint8_t ts_output[network_OUTPUT_SIZE] __attribute__((aligned(8)));
static uint32_t ts_layer_cycles[2 * network_LAYER_COUNT + 2];
static uint32_t ts_t0;
static char ts_line[160];

#if defined(network_OUTPUT_DTYPE_FLOAT32)
#define TS_OUT_DTYPE "float32"
#elif defined(network_OUTPUT_DTYPE_INT8)
#define TS_OUT_DTYPE "int8"
#else
#define TS_OUT_DTYPE "bytes"
#endif

static void ts_layer_hook(int layer, int end)
{
    uint32_t now = TS_DWT_CYCCNT;
    if (TS_ITM_TCR & 1u)
        TS_ITM_STIM(TS_ITM_LAYER_PORT) = TS_ITM_LAYER_WORD(layer, end);
    if (layer >= 0 && layer < network_LAYER_COUNT)
        ts_layer_cycles[2 * layer + (end != 0)] = now - ts_t0;
}

static char *put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

static char *put_dec(char *p, uint32_t v)
{
    char tmp[11];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_int(char *p, int v)
{
    if (v < 0) {
        *p++ = '-';
        return put_dec(p, (uint32_t)(-(v + 1)) + 1u);
    }
    return put_dec(p, (uint32_t)v);
}

static void emit(char *end)
{
    *end++ = '\n';
    *end = 0;
    ts_puts(ts_line);
}

static void trace_on(void)
{
    TS_DEMCR |= 1u << 24;   /* TRCENA: DWT and ITM */
    TS_DWT_LAR = TS_CORESIGHT_UNLOCK;
    TS_DWT_CYCCNT = 0;
    TS_DWT_CTRL |= 1u;
    TS_ITM_LAR = TS_CORESIGHT_UNLOCK;
    TS_ITM_TCR |= 1u;
    TS_ITM_TER |= 1u << TS_ITM_LAYER_PORT;
}

#define TS_PAINT 0xA5A5A5A5u

/* Fill the unused stack below this frame with a pattern (outside the timed run). */
static void __attribute__((noinline)) paint_stack(void)
{
    volatile uint32_t *p = __ts_stack_bottom;
    uint32_t *sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    while (p < (volatile uint32_t *)(sp - 32))
        *p++ = TS_PAINT;
}

static uint32_t stack_used(void)
{
    const volatile uint32_t *p = __ts_stack_bottom;
    while (p < (const volatile uint32_t *)_estack && *p == TS_PAINT)
        p++;
    return (uint32_t)((const volatile uint8_t *)_estack - (const volatile uint8_t *)p);
}

int main(void)
{
    static const char hex[] = "0123456789abcdef";
    ts_caches_enable(TS_ICACHE, TS_DCACHE);
    trace_on();
    network_set_layer_hook(ts_layer_hook);
    paint_stack();
    char *p = put_dec(put_str(ts_line, "TS:BEGIN "), network_LAYER_COUNT);
    emit(p);

    __asm volatile("cpsid i" ::: "memory");
    ts_t0 = TS_DWT_CYCCNT;
    int status = network_run(ts_input, ts_output);
    uint32_t cycles = TS_DWT_CYCCNT - ts_t0;
    __asm volatile("cpsie i" ::: "memory");

    for (int i = 0; i < network_LAYER_COUNT; i++) {
        p = put_dec(put_str(ts_line, "TS:LAYER "), (uint32_t)i);
        p = put_dec(put_str(p, " "), ts_layer_cycles[2 * i]);
        p = put_dec(put_str(p, " "), ts_layer_cycles[2 * i + 1]);
        emit(p);
    }
    emit(put_dec(put_str(ts_line, "TS:CYCLES "), cycles));
    emit(put_int(put_str(ts_line, "TS:STATUS "), status));
    emit(put_dec(put_str(ts_line, "TS:STACK "), stack_used()));
    p = put_str(put_str(ts_line, "TS:OUT "), TS_OUT_DTYPE);
    p = put_dec(put_str(p, " "), network_OUTPUT_COUNT);
    emit(put_dec(put_str(p, " "), network_OUTPUT_SIZE));
    for (uint32_t i = 0; i < network_OUTPUT_SIZE; i += 64) {
        p = put_str(ts_line, "TS:HEX ");
        for (uint32_t j = i; j < i + 64 && j < network_OUTPUT_SIZE; j++) {
            *p++ = hex[ts_output[j] >> 4];
            *p++ = hex[ts_output[j] & 15];
        }
        emit(p);
    }
    emit(put_str(ts_line, "TS:END"));
    ts_exit(status);
}
