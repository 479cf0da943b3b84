// Q/DQ fusion, selection side: selectors look at one node and either return the group of nodes
// that can become one com.qat op (ir/fused_ops.h) or say, in one phrase, why not. They never
// change the graph; qdq_actions.h turns a group into the fused node (ONNX Runtime's QDQ
// selectors / actions split), and `qat explain` shows the reasons.
//
//   weighted   DQ(x), DQ(W) -> Conv | ConvTranspose | Gemm | MatMul -> [Add const bias]
//              -> [Relu | Clip | LeakyRelu | HardSwish | Sigmoid | Sigmoid+Mul (swish)]*
//              -> [Add residual] -> [activations]* -> [Q]                 => QConv / QGemm ...
//   add, mul   DQ(a), DQ(b) -> Add | Mul -> [activations]* -> [Q]          => QAdd, QMul
//   pool       DQ(x) -> AveragePool | GlobalAveragePool -> [Q]             => QAveragePool ...
//   fp32 conv  Conv (float x, float constant W) -> [activations]* -> [Add residual]
//              -> [activations]*                                            => FusedConv (FP32)
//
// BatchNormalization is folded before fusion (fold_batchnorm.h), so Conv -> BN -> ... chains
// reach the selector as Conv -> ... . The output is INT8 when the chain's last value is read by
// one per-tensor QuantizeLinear alone; otherwise it stays float and `note` says why.
//
//   passes::Selection s = passes::select_fusion(node);
//   if (s.ok) QAT_ASSIGN_OR_RETURN(ir::Node* fused, passes::emit_fused(graph, s.group));
//   else if (!s.reason.empty()) explain(node, s.reason);
#pragma once

#include <string>
#include <vector>

#include "core/quant_params.h"
#include "ir/fused_ops.h"
#include "ir/graph.h"

namespace qat::passes {

enum class FusionKind { kWeighted, kBinary, kPool, kFp32Conv };  // kBinary: QAdd, QMul

struct FusionGroup {
    FusionKind kind = FusionKind::kWeighted;
    ir::Node* op = nullptr;  // Conv, ConvTranspose, Gemm, MatMul, Add, Mul, AveragePool, GlobalAveragePool
    // Input quantization: DQ of input 0 (x, or a for Add) and, for Add, of input 1.
    ir::Node* dq_x = nullptr;
    QuantParams x_params;
    ir::Node* dq_b = nullptr;
    QuantParams b_params;
    // Weighted ops: DQ of the weight, its int8 constant, scales per output channel (already
    // repeated per group for ConvTranspose, and times Gemm's alpha), and the combined bias.
    ir::Node* dq_w = nullptr;
    std::vector<float> w_scales;
    bool trans_b = false;
    std::vector<float> bias;  // empty: no bias
    // Post-ops in order, their parameters, and the residual of "add".
    std::vector<ir::fused::PostOp> post_ops;
    float clip_min = 0.0f, clip_max = 0.0f, alpha = 0.01f;
    ir::Value* residual = nullptr;  // int8/uint8 (with residual_params) or float
    ir::Node* residual_dq = nullptr;
    QuantParams residual_params;
    // Output.
    ir::Node* q_out = nullptr;  // absorbed QuantizeLinear: INT8 output
    QuantParams y_params;
    ir::Value* last = nullptr;  // the value the fused node's output replaces
    std::string note;           // why the output is float ("" when INT8)
    // Every node the fused op replaces, in graph order (DQs first); DQs read by other nodes too
    // stay in the graph for them.
    std::vector<ir::Node*> absorbed;
};

struct Selection {
    bool ok = false;
    FusionGroup group;
    // Why not (empty when the node is not a fusion candidate at all).
    std::string reason;
};

Selection select_weighted(ir::Node& op);
Selection select_qbinary(ir::Node& add);
Selection select_qpool(ir::Node& pool);
// Float Conv with at least one activation or residual Add after it (fuse-fp32-conv); not part of
// select_fusion, which is about INT8.
Selection select_fp32_conv(ir::Node& conv);
// The selector for the node's op type; !ok with an empty reason for other ops.
Selection select_fusion(ir::Node& node);

// True for op types some selector handles.
bool is_fusion_candidate(const ir::Node& node);

}  // namespace qat::passes
