// `qat explain`: the engine's plan as a report. One row per plan step: the node, its op, its
// precision (INT8 in/out, FP32, or a Q/DQ boundary), the original nodes a fused op absorbed,
// the backend that runs it, and for everything left in FP32 the reasons: why the passes did not
// fuse it (recorded by annotate-fp32), why a fused op's output stayed float, and which backends
// declined the node (their supports() refusals). Plus INT8 coverage: the share of
// multiply-accumulates (Conv / ConvTranspose / Gemm / MatMul and their fused forms) that run in
// INT8 ops.
//
//   QAT_ASSIGN_OR_RETURN(engine::ExplainReport r, engine::explain(e));
//   std::cout << engine::format_explain_table(r);   // or explain_to_json(r)
//
// MACs need every tensor's shape: the report runs the engine once on zero inputs (symbolic dims
// set to 1, i.e. batch 1 unless the engine has a fixed batch) and records the dims; if that run fails, MACs are left
// unknown and `mac_note` says why.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/engine.h"

namespace qat::engine {

struct ExplainRow {
    std::string node;           // node name (or op type when unnamed)
    std::string op;             // "QConv" (com.qat ops without the domain), "Softmax", ...
    bool fused = false;         // a com.qat op
    bool int8_compute = false;  // computes on int8 data (fused ops, int8 MaxPool/Concat/Reshape)
    std::string precision;      // "INT8 -> INT8", "INT8 -> FP32", "FP32", "INT8", "FP32 -> INT8", "INT8 -> FP32 (DQ)"
    std::vector<std::string> absorbed;
    std::string backend;
    std::vector<std::string> reasons;  // why FP32 / why float output / backend refusals
    int64_t macs = -1;                 // -1: unknown or not a MAC op
    int threads = 0;                   // 1: runs on one thread (thread_choice.h); 0: the engine's
};

struct ExplainReport {
    std::vector<ExplainRow> rows;
    int64_t total_macs = 0;  // over the MAC ops, for a batch of mac_batch samples
    int64_t int8_macs = 0;
    int64_t mac_batch = 1;  // 1, or the engine's fixed batch
    bool macs_known = false;
    std::string mac_note;  // why MACs are unknown
    int fused_ops = 0;
    int fp32_mac_ops = 0;  // Conv / Gemm / MatMul ... left in FP32
    double int8_mac_share() const { return total_macs > 0 ? static_cast<double>(int8_macs) / total_macs : 0.0; }
};

Result<ExplainReport> explain(Engine& engine);

std::string format_explain_table(const ExplainReport& report);
// One JSON object: {"nodes": [...], "int8_mac_share", "total_macs", "int8_macs", "fused_ops", ...}.
std::string explain_to_json(const ExplainReport& report, int indent = 2);

// Multiply-accumulates of one node given the dims of its inputs and output 0 (-1 for ops that
// are not Conv / ConvTranspose / Gemm / MatMul or their com.qat forms, or missing dims).
int64_t node_macs(const ir::Node& node, const std::vector<std::vector<int64_t>>& input_dims,
                  const std::vector<int64_t>& output_dims);

}  // namespace qat::engine
