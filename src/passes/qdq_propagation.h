// QdqPropagation: moves DequantizeLinear later and QuantizeLinear earlier through ops that
// commute with quantization, so that more of the graph runs on int8 tensors and so that a Q
// lands right after the op that can absorb it (Conv ... -> Q).
//
// Rules (per-tensor parameters only; "f" is Reshape, Flatten, Transpose, Squeeze, Unsqueeze,
// Slice, Identity or MaxPool, which pick or move elements and so commute with any monotone
// per-tensor map):
//
//  dq-later        %d = DQ(%q, s, z); %y = f(%d, ...)      ->  %t = f(%q, ...); %y = DQ(%t, s, z)
//  concat-dq-later %y = Concat(DQ(%a, s, z), DQ(%b, s, z)) ->  %y = DQ(Concat(%a, %b), s, z)
//                  (equal scales and zero points on every input)
//  q-earlier       %t = f(%x, ...); %y = Q(%t, s, z)        ->  %y = f(Q(%x, s, z), ...)
//                  (f's output read by the Q alone; for Concat every input gets the Q)
//  dq-q-identity   %y = Q(DQ(%q, s, z), s, z)               ->  %y = %q   (exact: |q - z| <= 255)
//  relu-before-qdq %y = Relu(DQ(Q(%x, s, z), s, z))         ->  %y = DQ(Q(Relu(%x), s, z), s, z)
//                  (exact: Q(relu(x)) = max(Q(x), z) since Q(0) = z; the Relu can then fuse
//                  into the producer of %x; Q and DQ read by the next node alone)
//  redundant-clamp %y = Relu(DQ(%q, s, z)) with z = qmin    ->  %y = DQ(%q, s, z)
//                  likewise Clip(lo, hi) when [dq(qmin), dq(qmax)] lies inside [lo, hi]
//  (and qdq-dedupe, since q-earlier creates Q nodes that may duplicate existing ones)
//
// Preconditions: Q/DQ scale and zero point are constants; a moved op's other inputs (shape,
// starts, axes) stay as they are; MaxPool's Indices output unused. Names of values read
// outside the rewritten nodes (graph outputs included) are kept.
#pragma once

#include <memory>
#include <string>

#include "passes/pass.h"

namespace qat::passes {

std::unique_ptr<Pass> make_qdq_propagation_pass();

// True for the ops this pass moves Q/DQ through (Concat excluded: it has its own rules).
bool commutes_with_quantization(const std::string& op_type);

}  // namespace qat::passes
