/* HAL-style firmware without vendor code: clock tree to 480 MHz, print over USART3, a marked workload. */
#include <stdint.h>

#include "tinyscope_markers.h"

extern uint32_t SystemCoreClock;
int system_clock_config(void);
void usart3_init(void);
void usart3_puts(const char *s);
void usart3_putu(uint32_t v);

static float x[256], y[256];

__attribute__((noinline)) float saxpy_sum(float a, int n)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        y[i] = a * x[i] + y[i];
        s += y[i];
    }
    return s;
}

int main(void)
{
    int rc = system_clock_config();
    usart3_init();
    usart3_puts("clock ");
    usart3_putu(rc == 0 ? SystemCoreClock : 0u);
    usart3_puts("\r\n");
    tinyscope_markers_init();
    tinyscope_begin(1);
    for (int i = 0; i < 256; i++)
        x[i] = (float)i;
    tinyscope_end(1);
    tinyscope_begin(2);
    float s = 0.0f;
    for (int r = 0; r < 20; r++)
        s += saxpy_sum(0.5f, 256);
    tinyscope_end(2);
    usart3_puts("sum ");
    usart3_putu((uint32_t)s);
    usart3_puts("\r\n");
    return rc;
}
