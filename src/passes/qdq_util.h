// Small helpers the engine passes share: reading Q/DQ parameters from constant inputs, use-list
// questions ("is this node the only reader?"), and replacing a value while keeping its name (so
// graph outputs keep the names users feed and read).
//
//   QuantParams p;
//   if (passes::const_qdq_params(*dq, &p) && p.per_tensor()) { ... }
//   passes::replace_value(graph, old_out, fused->output(0));   // fused output takes old's name
#pragma once

#include <string>
#include <vector>

#include "core/quant_params.h"
#include "core/status.h"
#include "ir/graph.h"

namespace qat::passes {

inline bool is_q(const ir::Node* n) {
    return n && n->op_type() == "QuantizeLinear" && (n->domain().empty() || n->domain() == "ai.onnx");
}
inline bool is_dq(const ir::Node* n) {
    return n && n->op_type() == "DequantizeLinear" && (n->domain().empty() || n->domain() == "ai.onnx");
}
// Default-domain node of this op type.
inline bool is_op(const ir::Node* n, const char* op) {
    return n && n->op_type() == op && (n->domain().empty() || n->domain() == "ai.onnx");
}

// Parameters of a QuantizeLinear / DequantizeLinear whose scale (and zero point, if given) are
// constants. False when they are not constants or are malformed (the caller leaves the node
// alone). A missing zero point means uint8 with zero point 0 (ONNX). `axis` is normalized to
// be >= 0 when the input rank is known.
bool const_qdq_params(const ir::Node& qdq, QuantParams* out);
// Same scales, zero points, dtype and (for per-axis) axis.
bool same_qparams(const QuantParams& a, const QuantParams& b);

// The single node reading `v`, or nullptr when v has zero or several readers or is a graph
// output (a graph output is read by the user too).
ir::Node* sole_consumer(const ir::Value* v);
// Producer of node input i (nullptr when the input is omitted or has no producer).
ir::Node* producer_of(const ir::Node& n, size_t i);

// Every reader of `from` (and graph-output slots) now reads `to`; when `from` is a graph output,
// or `keep_name` is set, `to` takes over from's name (from gets a fresh one), so users see the
// same names before and after a rewrite.
void replace_value(ir::Graph& g, ir::Value* from, ir::Value* to, bool keep_name = true);

// Removes the given nodes (in reverse order) when none of their outputs is used any more.
// Nodes still in use stay (e.g. a DQ that another consumer reads).
void remove_if_dead(ir::Graph& g, const std::vector<ir::Node*>& nodes);

// A new constant (initializer) named after `base`.
ir::Value* add_constant(ir::Graph& g, const std::string& base, Tensor t);

// Names of nodes folded into `n` by earlier passes (e.g. the BatchNormalization folded into a
// Conv), so the fused op that later absorbs `n` can list them for `qat explain`. Kept in the
// node's doc_string as a line "qat-folded: a, b".
std::vector<std::string> folded_names(const ir::Node& n);
void add_folded_name(ir::Node& n, const std::string& name);

// "Conv 'c1'" or "Conv" for messages.
std::string node_label(const ir::Node& n);

}  // namespace qat::passes
