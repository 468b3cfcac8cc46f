"""The timing model's rules on a hand-built state array, without firmware, a toolchain or unicorn.

tests/timing_state.py decodes a few Thumb instructions (hand-encoded; capstone's text is checked here),
allocates the state as the engine does (``timing.build_state``) and calls the per-instruction hook
(``code_hook``, then ``retire``) or the block hook (``block_hook``) on it. Each case checks one figure of
tinyscope/targets/cortex_m7.toml (whose comments give the sources) as an absolute cycle count from a
settled core (nothing in flight), with the stall the state's counters attribute to it, and the same in
both timing modes. tests/unit/test_timing_hooks.py checks the integer rules by marginal costs."""

from __future__ import annotations

import numpy as np
import pytest

from tests.timing_state import CORE, H743, code_tables, marginal, run
from tinyscope.sim import timing as T
from tinyscope.sim.decode import NF

LAT, FWD = CORE.latency, CORE.forward

ADD_R1 = (0xF101, 0x0101)
ADD_R2 = (0xF102, 0x0202)
ADD_R0 = (0xF100, 0x0001)
LDR_R0 = (0x6838,)
LDRB_R0 = (0x7838,)
LDR_R1_AT_R0 = (0x6801,)
MUL_R0 = (0xFB00, 0xF001)
VFMA_S0 = (0xEEA0, 0x0A81)
VMUL_S3_S0 = (0xEE60, 0x1A02)
VADD_S0 = (0xEE30, 0x0A20)
VADD_S3 = (0xEE72, 0x1A22)
VADD_S6 = (0xEE33, 0x3A84)
VDIV_S0 = (0xEE80, 0x0A81)
VLDR_S0 = (0xED97, 0x0A00)

TEXT = {
    ADD_R1: "add.w r1, r1, #1", ADD_R2: "add.w r2, r2, #2", ADD_R0: "add.w r0, r0, #1", LDR_R0: "ldr r0, [r7]",
    LDRB_R0: "ldrb r0, [r7]", LDR_R1_AT_R0: "ldr r1, [r0]", MUL_R0: "mul r0, r0, r1",
    VFMA_S0: "vfma.f32 s0, s1, s2", VMUL_S3_S0: "vmul.f32 s3, s0, s4", VADD_S0: "vadd.f32 s0, s0, s1",
    VADD_S3: "vadd.f32 s3, s4, s5", VADD_S6: "vadd.f32 s6, s7, s8", VDIV_S0: "vdiv.f32 s0, s1, s2",
    VLDR_S0: "vldr s0, [r7]",
}

# (pattern, cycles from a settled core, the counter its stall goes to, stall cycles, the rule)
CASES = {
    "alu_pair": ([ADD_R1, ADD_R2], 2 // CORE.issue.width, "ST_DEP", 0, "[issue] width = 2: dual issue"),
    "alu_chain": ([ADD_R1, ADD_R1], 1 + LAT.alu, "ST_DEP", 0, "[latency] alu = 1"),
    "word_load_use": ([LDR_R0, ADD_R0], 1 + LAT.load_word, "ST_LOAD", 0, "[latency] load_word = 1"),
    "narrow_load_use": ([LDRB_R0, ADD_R0], 1 + LAT.load_narrow, "ST_LOAD", LAT.load_narrow - 1,
                        "[latency] load_narrow = 2"),
    "word_load_to_address": ([LDR_R0, LDR_R1_AT_R0], 1 + LAT.load_word + FWD.early_operand + FWD.word_load_to_address,
                             "ST_LOAD", LAT.load_word + FWD.early_operand + FWD.word_load_to_address - 1,
                             "[forward] word_load_to_address: data-to-address dependency 3"),
    "mul_chain": ([MUL_R0, MUL_R0], 1 + LAT.mul, "ST_DEP", LAT.mul - 1, "[latency] mul = 2"),
    "fp_mac_to_multiply": ([VFMA_S0, VMUL_S3_S0], 1 + LAT.fp_mac, "ST_FP", LAT.fp_mac - 1,
                           "[latency] fp_mac = 5: VFMA result as a multiply operand"),
    "fp_mac_accumulate": ([VFMA_S0, VFMA_S0], 1 + LAT.fp_mac - FWD.fp_accumulate_from_mac, "ST_FP",
                          LAT.fp_mac - FWD.fp_accumulate_from_mac - 1,
                          "[forward] fp_accumulate_from_mac = 2: 3 instead of 5"),
    "fp_alu_chain": ([VADD_S0, VADD_S0], 1 + LAT.fp_alu, "ST_FP", LAT.fp_alu - 1, "[latency] fp_alu = 3"),
    "fp_pair": ([VADD_S3, VADD_S6], 2, "ST_FP", 0, "_can_pair: two FP ops never pair (one FP pipe)"),
    "fp_div": ([VDIV_S0], LAT.fp_div, "ST_FP", 0, "[latency] fp_div = 16, issue blocked for the whole latency"),
    "fp_load_to_accumulate": ([VLDR_S0, VFMA_S0], 1 + LAT.fp_load + FWD.fp_accumulate_from_load, "ST_LOAD",
                              LAT.fp_load + FWD.fp_accumulate_from_load - 1,
                              "[forward] fp_accumulate_from_load = 2: 3 instead of 1"),
}


def test_the_hand_encoded_instructions_decode_as_named():
    insns = list(TEXT)
    code = code_tables(insns)
    addrs = np.cumsum([0] + [2 * len(i) for i in insns[:-1]])
    assert [code.text[int(a)] for a in addrs] == list(TEXT.values())


def test_a_fresh_state_holds_the_code_and_the_core_figures():
    """build_state as the engine calls it: header offsets, the decode table and forwarding table copied
    in, nothing pending, and the [issue]/[branch] figures in their slots."""
    code = code_tables([ADD_R1, LDR_R0])
    S = T.build_state(H743, CORE, code, 0, 0)
    assert S[T.L.LEN] == S.size and S[T.L.CLOCK] == 0 and S[T.L.NINSTR] == 0 and S[T.L.PEND_IDX] == -1
    dec = int(S[T.L.O_DEC])
    np.testing.assert_array_equal(S[dec: dec + code.table.size], code.table.ravel())
    xt = int(S[T.L.O_XT])
    forward = T.forwarding_table(CORE)
    np.testing.assert_array_equal(S[xt: xt + forward.size], forward.ravel())
    assert S[T.L.N_ENT] == len(code.table) and code.table.shape[1] == NF
    assert S[T.L.DUAL] == (CORE.issue.width >= 2)
    assert (S[T.L.P_MISPRED], S[T.L.P_MISPRED_EARLY]) == (CORE.branch.mispredict, CORE.branch.mispredict_early_flags)


@pytest.mark.parametrize("case", CASES)
def test_instruction_hook_cycles_from_a_settled_core(case):
    pattern, cycles, counter, stall, rule = CASES[case]
    S = run(pattern, settled=True)
    assert S[T.L.CLOCK] == cycles, rule
    assert S[getattr(T.L, counter)] == stall, rule
    st = int(S[T.L.O_STATS])  # per instruction: executed once each, cycles summing to the clock
    rows = [int(S[st + T.NS * (a // 2) + T.S_CYCLES]) for a in code_tables(pattern).text]
    assert sum(rows) == cycles and all(S[st + T.NS * (a // 2) + T.S_COUNT] == 1 for a in code_tables(pattern).text)


@pytest.mark.parametrize("case", CASES)
def test_block_hook_agrees_with_the_instruction_hook(case):
    """Block mode schedules a block once with the same rules (_step): same cycles, same marginal cost."""
    pattern, cycles, _, _, rule = CASES[case]
    assert run(pattern, settled=True, block=True)[T.L.CLOCK] == cycles, rule
    assert marginal(pattern, block=True) == marginal(pattern), rule


def test_the_fp_pipeline_figures_as_steady_state_costs():
    """Repeated, the FP patterns cost their latency each time: a VFMA accumulate chain 3 a step, a VADD chain
    fp_alu, VDIV fp_div; a VFMA feeding a VMUL then the next VFMA is fp_mac plus one (the FP ops never pair)."""
    assert marginal([VFMA_S0]) == LAT.fp_mac - FWD.fp_accumulate_from_mac
    assert marginal([VADD_S0]) == LAT.fp_alu
    assert marginal([VDIV_S0]) == LAT.fp_div
    assert marginal([VFMA_S0, VMUL_S3_S0]) == LAT.fp_mac + 1
    assert marginal([VADD_S3, VADD_S6]) == 2
    assert marginal([MUL_R0]) == LAT.mul
