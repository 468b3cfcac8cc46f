"""Names from a model are data: hostile layer and tensor names never break or inject C."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinyscope import reference
from tinyscope.build.host import HostNetwork, compile_shared
from tinyscope.codegen import generate
from tinyscope.codegen.cnames import comment, identifier
from tinyscope.ir import RELU, ConvAttrs, FullyConnectedAttrs, OpType, PoolAttrs, ReshapeAttrs
from tinyscope.ir.builder import GraphBuilder

pytestmark = pytest.mark.hostc

HOSTILE = ["*/ int evil(void) { return 1; } /*", 'say "hi"\\', "line\nbreak\r\n#include <stdio.h>",
           "int", "ünïcödé ✓", "??/", "a" * 300, "", "main"]


def hostile_graph():
    rng = np.random.default_rng(0)
    b = GraphBuilder(HOSTILE[0], source="*/ evil path\n", source_format="zoo")
    x = b.input(HOSTILE[1], (1, 6, 6, 2))
    w = b.const(HOSTILE[2], rng.standard_normal((4, 3, 3, 2)).astype(np.float32))
    bias = b.const(HOSTILE[3], rng.standard_normal(4).astype(np.float32))
    y = b.op(OpType.CONV_2D, HOSTILE[4], [x, w, bias], ConvAttrs(act=RELU))
    y = b.op(OpType.MAX_POOL_2D, HOSTILE[5], [y], PoolAttrs())
    y = b.op(OpType.RESHAPE, HOSTILE[6], [y], ReshapeAttrs((1, 16)))
    w2 = b.const(HOSTILE[7], rng.standard_normal((3, 16)).astype(np.float32))
    b2 = b.const(HOSTILE[8], rng.standard_normal(3).astype(np.float32))
    y = b.op(OpType.FULLY_CONNECTED, HOSTILE[0], [y, w2, b2], FullyConnectedAttrs())
    return b.finish([y])


def test_hostile_names_compile_and_run(tmp_path):
    g = hostile_graph()
    code = generate(g, tmp_path / "c")
    net = HostNetwork(compile_shared(code, tmp_path), code, g)
    x = np.random.default_rng(1).random((1, 6, 6, 2), dtype=np.float32)
    np.testing.assert_allclose(net.run(x), reference.run(g, [x])[0], rtol=1e-5, atol=1e-6)
    for f in code.sources + code.headers:
        text = f.read_text()
        code_only = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', re.sub(r"/\*.*?\*/", "", text, flags=re.S))
        assert "evil(void)" not in code_only, f.name  # names live only in comments and string data
        assert "#include <stdio.h>" not in code_only
        assert text.isascii()


def test_comment_and_identifier_escaping():
    for name in HOSTILE:
        c = comment(name)
        assert "*/" not in c and "/*" not in c and "\n" not in c and "??" not in c and c.isascii()
        ident = identifier("net", 7, name)
        assert re.fullmatch(r"net_7(_[A-Za-z0-9_]+)?", ident)
