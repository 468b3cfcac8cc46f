"""SysTick, SVC and PendSV taken in software: a millisecond tick at the core clock, two tasks switched by
PendSV (tail-chained from SysTick), PRIMASK and BASEPRI, and the ways a firmware can wait forever."""

from __future__ import annotations

import shutil

import pytest

from tinyscope.errors import SimError
from tinyscope.profile.elf import profile_elf
from tinyscope.profile.timeline import folded_stacks
from tinyscope.sim import simulate
from tinyscope.targets import load_target

from .h743fw import build_h743

pytestmark = [pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]


def test_tick_and_two_tasks_switched_by_pendsv(tmp_path):
    elf = build_h743(tmp_path, "rtos", ["h743_clock.c", "rtos_tick.c"])
    p = profile_elf(elf, "stm32h743")
    r = p.result
    assert r.stdout == "clock 480000000\r\ntick 20 switches 10 both ran\r\n"
    hz = load_target("stm32h743").cpu_hz
    # 20 ticks of 1 ms at the core clock, plus the start-up before the tick is enabled
    assert 20 * hz // 1000 <= r.cycles < 21 * hz // 1000
    rows = {f.name: f for f in p.functions}
    assert rows["SysTick_Handler"].calls == 20 and rows["PendSV_Handler"].calls == 10
    assert rows["SVC_Handler"].calls == 1
    assert rows["SysTick_Handler"].exclusive > 0 and [lay.c_id for lay in p.layers] == [1]
    # the call stacks follow the running task: each task entered once (by an exception return, counted as
    # its first call), its time not main's; PendSV tail-chained from SysTick is its sibling, not its callee
    assert rows["task0"].calls == 1 and rows["task1"].calls == 1
    assert rows["main"].inclusive < 0.01 * r.cycles and rows["task0"].inclusive > 0.45 * r.cycles
    stacks = dict(line.rsplit(" ", 1) for line in folded_stacks(r, p.symbols).splitlines())
    assert "[start-up];task0;PendSV_Handler" in stacks and "[start-up];task1;SysTick_Handler" in stacks
    assert not any("SysTick_Handler;PendSV_Handler" in k or "main;task" in k for k in stacks)
    assert int(stacks["[start-up];task0"]) > 0.45 * r.cycles


def test_primask_and_basepri_hold_the_tick_off(tmp_path):
    r = simulate(build_h743(tmp_path, "masking", ["h743_clock.c", "masking.c"]), "stm32h743")
    # 35,000 cycles masked by PRIMASK: three wraps of 10,000, one pending, taken at cpsie; BASEPRI 0x80 masks
    # priority 0x80, 0xC0 does not; 25,000 cycles later two more ticks
    assert r.stdout == "primask0 unmasked1 basepri800 basepriC01 later3 \r\n"


def test_delay_without_tick_is_waiting_forever(tmp_path):
    src = tmp_path / "notick.c"
    src.write_text("#include <stdint.h>\nvolatile uint32_t tick;\n"
                   "__attribute__((noinline)) void delay_ms(uint32_t ms) { uint32_t t0 = tick;\n"
                   "  while (tick - t0 < ms) { } }\nint main(void) { delay_ms(5); return 0; }\n")
    with pytest.raises(SimError, match=r"waiting forever in the loop at delay_ms\+0x.*SysTick is not enabled"):
        simulate(build_h743(tmp_path, "notick", [src]), "stm32h743", timeout_s=60)


def test_bad_access_inside_a_handler_names_the_handler(tmp_path):
    src = tmp_path / "badhandler.c"
    src.write_text("#include <stdint.h>\nvoid SysTick_Handler(void) { *(volatile uint32_t *)0x90000000u = 1; }\n"
                   "int main(void) { *(volatile uint32_t *)0xE000E014u = 999; *(volatile uint32_t *)0xE000E010u = 7;\n"
                   "  for (;;) { } }\n")
    with pytest.raises(SimError, match=r"write to unmapped address 0x90000000 at SysTick_Handler"):
        simulate(build_h743(tmp_path, "badhandler", [src]), "stm32h743", timeout_s=60)


def test_exception_return_outside_a_handler_is_a_fault(tmp_path):
    src = tmp_path / "excret.c"
    src.write_text("int main(void) { __asm volatile(\"ldr lr, =0xFFFFFFF9\\n bx lr\"); return 0; }\n")
    with pytest.raises(SimError, match=r"from main\+0x4 \(bx lr\): an exception return \(EXC_RETURN\) outside"):
        simulate(build_h743(tmp_path, "excret", [src]), "stm32h743", timeout_s=60)
