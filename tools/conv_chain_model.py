#!/usr/bin/python3
"""A chain of N tiny Q/DQ convolutions (1x1, C -> C channels on a 4x4 input, ReLU), for measuring
the engine's fixed cost per step (docs/BENCHMARKS.md): the work of each step is negligible, so
`qat bench` of this model over N is what a step costs beyond its arithmetic.

    /usr/bin/python3 tools/conv_chain_model.py OUT.onnx [--steps 100] [--channels 64]

Needs Debian's python3-onnx (hence /usr/bin/python3). Weights are random with a fixed seed.
"""
import argparse
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--channels", type=int, default=64)
    a = ap.parse_args()
    if a.steps < 1 or a.channels < 1:
        sys.exit("conv_chain_model.py: --steps and --channels must be >= 1")
    rng = np.random.default_rng(1)
    c = a.channels
    inits = [numpy_helper.from_array(np.array(0.05, np.float32), "s_a"),
             numpy_helper.from_array(np.array(0, np.int8), "z_a")]
    nodes = []
    x = "x"
    for i in range(a.steps):
        inits += [numpy_helper.from_array((rng.standard_normal((c, c, 1, 1)) * 0.1).astype(np.float32), f"w{i}"),
                  numpy_helper.from_array(np.full((c,), 0.002, np.float32), f"ws{i}"),
                  numpy_helper.from_array(np.zeros((c,), np.int8), f"wz{i}")]
        nodes += [helper.make_node("QuantizeLinear", [x, "s_a", "z_a"], [f"q{i}"]),
                  helper.make_node("DequantizeLinear", [f"q{i}", "s_a", "z_a"], [f"dq{i}"]),
                  helper.make_node("QuantizeLinear", [f"w{i}", f"ws{i}", f"wz{i}"], [f"wq{i}"], axis=0),
                  helper.make_node("DequantizeLinear", [f"wq{i}", f"ws{i}", f"wz{i}"], [f"wdq{i}"], axis=0),
                  helper.make_node("Conv", [f"dq{i}", f"wdq{i}"], [f"c{i}"], name=f"conv{i}"),
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        x = f"r{i}"
    g = helper.make_graph(nodes, "conv_chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, 4, 4])],
                          [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, c, 4, 4])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    save(m, a.out)


if __name__ == "__main__":
    main()
