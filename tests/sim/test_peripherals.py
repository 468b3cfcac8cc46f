"""Register-level STM32H743 firmware: the clock tree comes up (RCC, PWR, SYSCFG, FLASH models), USART3
prints, unmodelled peripherals are reported (or a fault with strict)."""

from __future__ import annotations

import shutil

import pytest

from tinyscope.errors import InputError, SimError
from tinyscope.profile.elf import profile_elf
from tinyscope.sim import simulate
from tinyscope.targets import load_target, parse_target

from .h743fw import build_h743

pytestmark = [pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]


def test_clock_tree_to_480_mhz_and_usart3_output(tmp_path):
    elf = build_h743(tmp_path, "hal_style", ["h743_clock.c", "hal_style.c"])
    r = simulate(elf, "stm32h743")
    # the firmware computes SystemCoreClock from RCC's PLL1 registers, as HAL does: the board's cpu_hz
    total = sum(0.5 * sum(range(256)) * (k + 1) for k in range(20))
    assert r.stdout == f"clock {load_target('stm32h743').cpu_hz}\r\nsum {int(total)}\r\n"
    assert r.exit_code == 0 and "unmodelled_peripherals" not in r.meta
    p = profile_elf(elf, "stm32h743")
    assert [lay.c_id for lay in p.layers] == [1, 2]
    assert {"system_clock_config", "saxpy_sum", "usart3_puts"} <= {f.name for f in p.functions}


def test_f746_clock_tree_to_216_mhz_and_usart3_output(tmp_path):
    elf = build_h743(tmp_path, "f746", ["f746_clock.c"], ld="f746.ld")
    p = profile_elf(elf, "stm32f746")
    r = p.result
    assert r.stdout == f"clock {load_target('stm32f746').cpu_hz}\r\n" and r.exit_code == 0
    assert "unmodelled_peripherals" not in r.meta and [lay.c_id for lay in p.layers] == [1]
    assert {"system_clock_config", "clock_from_rcc"} <= {f.name for f in p.functions}


def test_unmodelled_peripheral_is_reported_or_a_fault(tmp_path):
    src = tmp_path / "tim2.c"
    src.write_text("#include <stdint.h>\nint main(void) { volatile uint32_t *t = (volatile uint32_t *)0x40000000u;\n"
                   "t[0] = 1; return (int)t[9] + (int)t[9]; }\n")
    elf = build_h743(tmp_path, "tim2", [src])
    r = simulate(elf, "stm32h743")
    (u,) = r.meta["unmodelled_peripherals"]
    assert (u["range"], u["reads"], u["writes"]) == ("0x40000000-0x400003ff", 2, 1)
    assert u["first_at"].startswith("main+")
    with pytest.raises(SimError, match=r"write of 0x40000000, a peripheral the simulator does not model"):
        simulate(elf, "stm32h743", strict=True)


def test_board_file_peripherals_are_checked():
    base = {"name": "b", "cpu_hz": 100, "region": [{"name": "ram", "base": 0x20000000, "size": 0x1000, "kind": "ram",
                                                   "bus": "dtcm", "source": "test"}]}
    with pytest.raises(InputError, match="overlaps region ram"):
        parse_target({**base, "peripheral": [{"name": "u", "model": "stm32-usart", "base": 0x20000000,
                                              "size": 0x400, "source": "x"}]})
    with pytest.raises(InputError, match="needs name, model and source"):
        parse_target({**base, "peripheral": [{"name": "u", "base": 0x40000000, "size": 0x400}]})
    t = parse_target({**base, "peripheral": [{"name": "u", "model": "nope", "base": 0x40000000, "size": 0x400,
                                              "source": "x"}]})
    assert t.peripherals[0].model == "nope"  # checked when simulated: the model list lives in sim/
