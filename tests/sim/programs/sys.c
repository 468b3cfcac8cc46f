/* Start-up and newlib system calls over semihosting, shared by the differential corpus.
 * The console is opened as ":tt" (what QEMU needs); exit goes through SYS_EXIT. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack, _heap_limit;
int main(void);

static int semihost(int op, const void *arg)
{
    register int r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void _exit(int status)
{
    semihost(0x18, (const void *)(uintptr_t)(status == 0 ? 0x20026u : 0x20023u));
    for (;;) {
    }
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
    _exit(main());
}

static void Default_Handler(void)
{
    for (;;) {
    }
}

__attribute__((section(".isr_vector"), used)) const void *const vectors[16] = {
    &_estack, Reset_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler, Default_Handler,
};

static int console = -1;

int _write(int fd, const char *buf, int n)
{
    (void)fd;
    if (console < 0) {
        uint32_t open[3] = {(uint32_t)(uintptr_t)":tt", 4, 3};
        console = semihost(0x01, open);
    }
    uint32_t a[3] = {(uint32_t)console, (uint32_t)(uintptr_t)buf, (uint32_t)n};
    return n - semihost(0x05, a);
}

int _read(int fd, char *buf, int n) { (void)fd; (void)buf; (void)n; return 0; }
int _close(int fd) { (void)fd; return -1; }
int _lseek(int fd, int pos, int whence) { (void)fd; (void)pos; (void)whence; return 0; }
int _fstat(int fd, struct stat *st) { (void)fd; memset(st, 0, sizeof *st); st->st_mode = S_IFCHR; return 0; }
int _isatty(int fd) { (void)fd; return 1; }
int _kill(int pid, int sig) { (void)pid; (void)sig; errno = EINVAL; return -1; }
int _getpid(void) { return 1; }

void *_sbrk(ptrdiff_t inc)
{
    extern char end;
    static char *heap = &end;
    char *p = heap;
    if (heap + inc > (char *)&_heap_limit) {
        errno = ENOMEM;
        return (void *)-1;
    }
    heap += inc;
    return p;
}
