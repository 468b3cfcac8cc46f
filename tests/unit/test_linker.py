"""Linker script generation, placement checks, ld's overflow and usage reports, the harness protocol."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinyscope.errors import InputError, PlanError, SimError
from tinyscope.firmware.config import DEFAULTS, parse_place
from tinyscope.firmware.linker import linker_script, memory_usage, overflow_error, resolve_placement
from tinyscope.firmware.protocol import parse_output
from tinyscope.targets import load_target
from tinyscope.targets.armv7m import decode_itm_layer, itm_layer_word

H7 = load_target("stm32h743")


def test_default_placement_is_the_study_configuration_1() -> None:
    p = resolve_placement(H7, None)
    assert p.as_dict() == {"weights": "flash", "activations": "axisram", "code": "flash", "stack": "axisram",
                           "input": "axisram"}
    p = resolve_placement(H7, parse_place("code=itcm, activations=DTCM,stack=sram"))
    assert p.as_dict() == {"weights": "flash", "activations": "dtcm", "code": "itcm", "stack": "axisram",
                           "input": "dtcm"}
    assert resolve_placement(H7, {"input": "flash"}).input == "flash"  # read in place, as a constant


@pytest.mark.parametrize("place,message", [
    ({"code": "sram9"}, "no region 'sram9'"),
    ({"heap": "dtcm"}, "cannot place 'heap'"),
    ({"activations": "flash"}, "activations must be in RAM"),
])
def test_bad_placements(place: dict, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        resolve_placement(H7, place)
    with pytest.raises(InputError, match="CLASS=REGION"):
        parse_place("weights")


def test_script_places_sections_and_copies_what_runs_from_ram() -> None:
    text = linker_script(H7, resolve_placement(H7, {"code": "itcm", "activations": "dtcm"}), stack_size=4096)
    assert re.search(r"ITCM \(rwx\) : ORIGIN = 0x00000000, LENGTH = 0x10000", text)
    assert re.search(r"FLASH \(rx\) : ORIGIN = 0x08000000, LENGTH = 0x200000", text)
    assert "SRAM1" not in text  # only the regions in use
    assert re.search(r"\.text :\n  \{[^}]*\*\(\.text \.text\.\*\)[^}]*\} > ITCM AT> FLASH", text)
    assert re.search(r"\.tinyscope\.activations \(NOLOAD\) :[^}]*\} > DTCM", text)
    assert re.search(r"\.tinyscope\.weights :[^}]*\} > FLASH\n", text)
    assert "LONG(LOADADDR(.text)) LONG(ADDR(.text))" in text  # start-up copies code into ITCM
    assert "LONG(LOADADDR(.data))" in text and "LONG(ADDR(.tinyscope.activations))" in text
    assert "0x1000;" in text and "_estack" in text
    flash_code = linker_script(H7, resolve_placement(H7, None), DEFAULTS.stack_size)
    assert "LONG(LOADADDR(.text))" not in flash_code
    assert re.search(r"\.text :[^}]*\} > FLASH\n", flash_code)


def test_overflow_names_region_and_missing_bytes() -> None:
    stderr = ("/usr/bin/ld: firmware.elf section `.tinyscope.weights' will not fit in region `DTCM'\n"
              "/usr/bin/ld: region `DTCM' overflowed by 245352 bytes\ncollect2: error: ld returned 1 exit status\n")
    err = overflow_error(stderr)
    assert isinstance(err, PlanError)
    assert "region dtcm overflowed by 245352 bytes" in str(err)
    assert overflow_error("undefined reference to `foo'") is None


def test_memory_usage_from_ld() -> None:
    text = ("Memory region         Used Size  Region Size  %age Used\n"
            "           FLASH:      381352 B         2 MB     18.18%\n"
            "            ITCM:        3912 B        64 KB      5.97%\n")
    assert memory_usage(text) == {"flash": (381352, 2 << 20), "itcm": (3912, 64 << 10)}


def test_protocol_round_trip_and_errors() -> None:
    values = np.array([0.25, -1.5, 3.0], dtype=np.float32)
    text = ("noise\nTS:BEGIN 2\nTS:LAYER 0 10 50\nTS:LAYER 1 55 90\nTS:CYCLES 100\nTS:STATUS 0\nTS:STACK 512\n"
            f"TS:OUT float32 3 12\nTS:HEX {values.tobytes().hex()}\nTS:END\n")
    out = parse_output(text)
    assert out.cycles == 100 and out.status == 0 and out.layers == [(10, 50), (55, 90)] and out.stack_used == 512
    assert np.array_equal(out.output, values)
    with pytest.raises(SimError, match="TS:END"):
        parse_output(text.replace("TS:END\n", ""))
    with pytest.raises(SimError, match="fault"):
        parse_output("TS:BEGIN 2\nTS:FAULT\n")
    with pytest.raises(SimError, match="malformed"):
        parse_output(text.replace("TS:OUT float32 3 12", "TS:OUT float32 3 16"))
    assert decode_itm_layer(7) == (3, True) and decode_itm_layer(6) == (3, False)
    assert all(decode_itm_layer(itm_layer_word(n, e)) == (n, e) for n in range(300) for e in (False, True))


def test_code_through_the_f7_itcm_flash_mirror_keeps_flash_offsets() -> None:
    f7 = load_target("stm32f746")
    text = linker_script(f7, resolve_placement(f7, {"code": "flash_itcm"}), DEFAULTS.stack_size)
    assert "FLASH_ITCM" not in text  # a view, not a separate MEMORY region
    assert ".text (0x00200000 + __ts_mirror_lma - ORIGIN(FLASH)) : AT(__ts_mirror_lma)" in text
    assert "overflowed by code in flash_itcm" in text
    with pytest.raises(PlanError, match="only code"):
        resolve_placement(f7, {"weights": "flash_itcm"})


def test_build_options_table_parses_gcc_style_levels() -> None:
    import argparse

    from tinyscope.firmware.options import add_build_arguments, config_from_args

    p = argparse.ArgumentParser()
    add_build_arguments(p)
    assert config_from_args(p.parse_args([])).opt == "-O3"
    assert config_from_args(p.parse_args(["--opt", "-O2", "--libc", "newlib"])).opt == "-O2"
    assert config_from_args(p.parse_args(["--opt=Os"])).opt == "-Os"
    cfg = config_from_args(p.parse_args(["-O1", "--icache", "off", "--place", "code=itcm"]))
    assert (cfg.opt, cfg.icache, cfg.dcache, cfg.place) == ("-O1", False, True, {"code": "itcm"})
    with pytest.raises(SystemExit):
        p.parse_args(["--opt", "-O9"])


def test_harness_spells_no_address_or_operation_number():
    """Registers, semihosting numbers and the ITM layer protocol come from targets/armv7m.py only."""
    import re
    from importlib import resources

    from tinyscope.targets import armv7m

    harness = resources.files("tinyscope.firmware").joinpath("harness")
    for f in harness.iterdir():
        if f.name.endswith((".c", ".h")):
            text = f.read_text()
            assert not re.search(r"0x[eE]000|0xC5ACCE55|<< 1\) \|", text), f.name
    header = armv7m.c_header()
    for name, (addr, _) in armv7m.REGISTERS.items():
        assert f"#define TS_{name} TS_REG(0x{addr:08X}u)" in header
    assert "#define TS_SYS_WRITE0 0x04" in header and "#define TS_ITM_LAYER_PORT 1" in header
