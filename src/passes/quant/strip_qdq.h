// StripQdqPass: removes existing QuantizeLinear / DequantizeLinear nodes so a quantized model can
// be quantized again (`qat quantize --requantize`).
//
//   before:  %y = Conv(DQ(Q(%x, %sx, %zx), %sx, %zx), DQ[axis=0](%w_q, %sw, %zw))
//   after:   %y = Conv(%x, %w)          with %w = float((w_q - zw) * sw), named w_q minus "_quantized"
//
// Each DequantizeLinear whose input is a QuantizeLinear output is bypassed (its readers read the
// Q's float input); one whose input is a constant (int8/uint8/int32 weight or bias) is replaced
// by the dequantized float constant. Q nodes, scales and zero points left without readers go.
// Also clears the "qat.uncalibrated" marker. Refused, naming the node: a DQ of anything else
// (e.g. an int8 graph input), a Q whose output is read by something other than a DQ or is a
// graph output, and the pre-quantized operator forms (QLinearConv, QLinearMatMul, ConvInteger,
// MatMulInteger, ...), which have no float form to go back to.
#pragma once

#include <string>
#include <vector>

#include "passes/pass.h"

namespace qat::passes::quant {

// The quantization nodes of a graph: QuantizeLinear, DequantizeLinear and the QLinear* /
// *Integer operator forms (any domain), in node order.
std::vector<const ir::Node*> find_quantization_nodes(const ir::Graph& graph);

class StripQdqPass : public Pass {
  public:
    std::string name() const override { return "strip-qdq"; }
    Result<bool> run(ir::Graph& graph, PassContext& ctx) override;
};

// Metadata key that marks a model whose activation Q/DQ carry placeholder scales.
inline constexpr const char* kUncalibratedKey = "qat.uncalibrated";

}  // namespace qat::passes::quant
