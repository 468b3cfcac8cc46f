"""Calibration: each test checks one documented Cortex-M7 behaviour (shared/ref/cortex-m7-timing.md).

Per-operation costs come from two repetition counts, (T(2N) - T(N)) / N, so the fixed cost of
reading DWT CYCCNT cancels out.
"""

from __future__ import annotations

import shutil

import pytest

from tinyscope.sim import simulate
from tinyscope.targets import load_target

from .snippets import build, rept

pytestmark = [pytest.mark.sim,
              pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc missing")]
N = 64


def cycles(tmp_path, name, body, **kw) -> int:
    r = simulate(build(tmp_path, name, body, **kw), "stm32h743")
    assert r.exit_code == 0 and len(r.itm) == 1
    return int(r.itm["value"][0])


def per_op(tmp_path, name, text, ops_per_rep, **kw) -> float:
    one = cycles(tmp_path, name + "1", rept(N, text), **kw)
    two = cycles(tmp_path, name + "2", rept(2 * N, text), **kw)
    return (two - one) / (N * ops_per_rep)


def test_dependent_vadd_chain_costs_three_cycles(tmp_path):
    assert per_op(tmp_path, "vadd", "    vadd.f32 s0, s0, s1", 1) == pytest.approx(3.0)


def test_three_vfma_accumulators_issue_one_per_cycle(tmp_path):
    body = "    vfma.f32 s0, s3, s4\n    vfma.f32 s1, s3, s4\n    vfma.f32 s2, s3, s4"
    assert per_op(tmp_path, "vfma3", body, 3) == pytest.approx(1.0)
    # one accumulator: back-to-back FMAs into one register wait for each other
    assert per_op(tmp_path, "vfma1", "    vfma.f32 s0, s3, s4", 1) == pytest.approx(3.0)


def test_two_fp_ops_never_pair(tmp_path):
    body = "    vadd.f32 s5, s1, s3\n    vmul.f32 s6, s3, s4"
    assert per_op(tmp_path, "fpfp", body, 2) == pytest.approx(1.0)


def test_alu_alu_and_ldr_alu_pair(tmp_path):
    assert per_op(tmp_path, "aluX2", "    add r0, r0, #1\n    add r1, r1, #1", 2) == pytest.approx(0.5)
    assert per_op(tmp_path, "ldralu", "    ldr r2, [r7]\n    add r0, r0, #1", 2) == pytest.approx(0.5)


def test_load_use_costs_a_cycle(tmp_path):
    independent = per_op(tmp_path, "ldr_ind", "    ldr r2, [r7]\n    add r0, r1, #1", 2)
    dependent = per_op(tmp_path, "ldr_use", "    ldr r2, [r7]\n    add r0, r2, #1", 2)
    assert (dependent - independent) * 2 == pytest.approx(1.0)


def test_ldm_costs_half_a_cycle_per_register(tmp_path):
    for n, regs in [(2, "r0-r1"), (4, "r0-r3"), (5, "r0-r4")]:
        assert per_op(tmp_path, f"ldm{n}", f"    ldm r7, {{{regs}}}", 1) == pytest.approx((n + 1) // 2)


def test_predicted_loop_branch_is_nearly_free_and_mispredict_costs_6_to_8(tmp_path):
    loop = """    mov r3, #{n}
1:  add r0, r0, #1
    add r1, r1, #1
    subs r3, r3, #1
    bne 1b"""
    iters = lambda k: cycles(tmp_path, f"loop{k}", loop.format(n=k))  # noqa: E731
    per_iter = (iters(2 * N) - iters(N)) / N
    assert per_iter <= 2.0 + 0.5  # four ALU ops pair into 2 cycles; the back edge adds at most half a cycle
    # an inner branch that alternates taken / not taken defeats the predictor every time
    alt = """    mov r3, #{n}
1:  tst r3, #1
    beq 2f
    add r0, r0, #1
2:  subs r3, r3, #1
    bne 1b"""
    never = alt.replace("tst r3, #1", "tst r3, #0")
    a = cycles(tmp_path, "alt2", alt.format(n=2 * N)) - cycles(tmp_path, "alt1", alt.format(n=N))
    b = cycles(tmp_path, "nev2", never.format(n=2 * N)) - cycles(tmp_path, "nev1", never.format(n=N))
    penalty_per_mispredict = (a - b) / N
    assert 6 <= penalty_per_mispredict <= 8


def test_icache_miss_from_flash_costs_the_fill_and_a_hit_does_not(tmp_path):
    fill = load_target("stm32h743").region("flash").line_fill_cycles
    lines = 8
    extra = "    .balign 32\nfunc:\n" + rept(lines * 16 - 1, "    nop") + "\n    bx lr\n"
    r = simulate(build(tmp_path, "icache", "    bl func\n    bl func", caches=True, extra=extra, code="flash"),
                 "stm32h743")
    assert r.exit_code == 0
    funcs = [pc for pc in r.pcs() if r.pc_stats["icache_miss"][r.index(pc)] > 0]
    assert len(funcs) >= lines
    first_pass = sum(int(r.pc_stats["stall_ifetch"][r.index(pc)]) for pc in funcs)
    assert first_pass >= lines * fill
    # every line of func missed exactly once: the second call hit in the cache
    misses = [int(r.pc_stats["icache_miss"][r.index(pc)]) for pc in funcs]
    assert max(misses) == 1


def test_tcm_against_uncached_axi_sram(tmp_path):
    wait = load_target("stm32h743").region("axisram").read_wait_cycles
    tcm = per_op(tmp_path, "tcm", "    ldr r0, [r7]\n    ldr r1, [r7, #4]", 2)
    axi = per_op(tmp_path, "axi", "    ldr r0, [r6]\n    ldr r1, [r6, #4]", 2)
    assert tcm <= 1.0
    assert axi - tcm == pytest.approx(wait, abs=1.0)
