/* tinyscope region markers: generated from tinyscope/targets/armv7m.py (markers_header). Do not edit.
 *
 * Wrap a region of interest:  tinyscope_begin(3); work(); tinyscope_end(3);
 * Ids are small integers (0 .. 2^30 - 1); `tinyscope profile FIRMWARE.elf` then shows one row per id
 * in its layer table ("region 3"). Regions may nest but an id should not. Call tinyscope_markers_init()
 * once at start-up so the markers also reach a trace probe on a board (harmless without one). */
#ifndef TINYSCOPE_MARKERS_H
#define TINYSCOPE_MARKERS_H

#include <stdint.h>

#define TINYSCOPE_MARK_PORT 1u
#define TINYSCOPE_ITM_STIM (*(volatile uint32_t *)(0xE0000000u + 4u * TINYSCOPE_MARK_PORT))
#define TINYSCOPE_ITM_TER (*(volatile uint32_t *)0xE0000E00u)
#define TINYSCOPE_ITM_TCR (*(volatile uint32_t *)0xE0000E80u)
#define TINYSCOPE_ITM_LAR (*(volatile uint32_t *)0xE0000FB0u)
#define TINYSCOPE_DEMCR (*(volatile uint32_t *)0xE000EDFCu)

static inline void tinyscope_markers_init(void)
{
    TINYSCOPE_DEMCR |= 1u << 24; /* TRCENA */
    TINYSCOPE_ITM_LAR = 0xC5ACCE55u;
    TINYSCOPE_ITM_TCR |= 1u; /* ITMENA */
    TINYSCOPE_ITM_TER |= 1u << TINYSCOPE_MARK_PORT;
}

static inline void tinyscope_mark(uint32_t word)
{
    if ((TINYSCOPE_ITM_TCR & 1u) && (TINYSCOPE_ITM_TER & (1u << TINYSCOPE_MARK_PORT))) {
        while (TINYSCOPE_ITM_STIM == 0u) { /* the port's FIFO is full */ }
        TINYSCOPE_ITM_STIM = word;
    }
}

static inline void tinyscope_begin(uint32_t id) { tinyscope_mark(id << 1); }
static inline void tinyscope_end(uint32_t id) { tinyscope_mark((id << 1) | 1u); }

#endif
