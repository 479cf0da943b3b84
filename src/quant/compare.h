// Per-layer error of a quantized model against its FP32 original (`qat compare`): which layer
// is to blame when PTQ loses accuracy.
//
// Both models run on the same batches. A "layer" is a node of the QDQ model (not a Q/DQ node)
// that reads at least one DequantizeLinear output; it is matched to the FP32 model by its first
// output tensor's name (Q/DQ placement keeps tensor names). Two errors per layer:
//
//   cumulative  the QDQ model's tensor as it runs, against the FP32 tensor: everything upstream
//               included, so errors pile up towards the output;
//   own         the layer alone: the FP32 model's inputs of that layer go through the layer's
//               own Q/DQ nodes (same scales, same int8 weights) and the layer, against the FP32
//               output. This is what points at the culprit: a mis-scaled layer has a poor own
//               SQNR while the layers after it, fed float inputs, do not.
//
// The own error is computed in one extra run per batch: a copy of the FP32 graph with each
// layer's Q/DQ chain and a copy of the layer attached to the FP32 tensors. Metrics accumulate
// over all batches: SQNR = 10 log10(sum ref^2 / sum (ref - q)^2) dB (inf when equal), cosine
// similarity, max |ref - q|. Layers are sorted worst first by own SQNR (cumulative when the
// own error could not be measured). The final output adds the top-1 agreement (argmax per row)
// and its SQNR.
//
// The QDQ model runs as ONNX defines it (Q/DQ as nodes, float arithmetic in between), i.e. the
// simulated INT8 that TensorRT's fused kernels reproduce up to accumulation order.
//
//   CompareOptions o;
//   QAT_ASSIGN_OR_RETURN(CompareReport r, compare_models(*fp32, *int8, *source, o));
//   std::printf("%s", format_compare_report(r, 20).c_str());
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "quant/calibrate.h"

namespace qat::quant {

// Accumulated error between a reference and a test tensor.
struct ErrorStats {
    double ref2 = 0, err2 = 0, dot = 0, test2 = 0, max_abs = 0;
    int64_t count = 0;

    void add(const float* ref, const float* test, int64_t n);
    // +inf when there is no error; -inf when the reference is all zero and the test is not.
    double sqnr_db() const;
    // 1 when both are all zero.
    double cosine() const;
};

struct LayerCompare {
    std::string node;
    std::string op_type;
    std::string tensor;  // the compared output
    ErrorStats cumulative;
    std::optional<ErrorStats> own;
    // The key the report sorts on (own SQNR, else cumulative).
    double rank_sqnr() const { return own ? own->sqnr_db() : cumulative.sqnr_db(); }
};

struct CompareReport {
    std::vector<LayerCompare> layers;      // worst first
    std::vector<std::string> unmatched;    // "conv9 (output 'x' is not in the FP32 model)"
    std::vector<std::string> without_own;  // layers whose own error could not be measured, with why
    std::string output_name;
    ErrorStats output;
    int64_t samples = 0;
    int64_t top1_matches = 0;
    double top1_match_percent() const {
        return samples ? 100.0 * static_cast<double>(top1_matches) / static_cast<double>(samples) : 0.0;
    }
};

struct CompareOptions {
    RunOptions run;
    bool own = true;    // measure each layer's own error (one extra run per batch)
    bool quiet = true;  // no progress bar
};

// Nodes of a QDQ graph (not Q/DQ) that read at least one DequantizeLinear output, node order.
std::vector<const ir::Node*> quantized_layer_nodes(const ir::Graph& qdq);

Result<CompareReport> compare_models(const ir::Graph& fp32, const ir::Graph& qdq, BatchSource& source,
                                     const CompareOptions& options);

// Index of the largest value in each row of a [rows, k...] tensor (first index on ties).
std::vector<int64_t> argmax_rows(const Tensor& t, int64_t rows);

// A table (at most max_rows layers; 0 = all) and one JSON object.
std::string format_compare_report(const CompareReport& r, size_t max_rows = 0);
std::string compare_report_json(const CompareReport& r);
// "31.2 dB", "inf dB"
std::string format_db(double db);

}  // namespace qat::quant
