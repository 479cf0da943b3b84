// Structural helpers shared by the Q/DQ pattern cases and the placement report: which ops are
// weighted, which tensors can carry Q/DQ, and whether a tensor comes "straight from a Conv
// branch" (the shape TensorRT and our engine fuse into one INT8 kernel).
//
//   if (auto b = conv_branch(*add->input(0)); b.head) { ... b.head is the Conv ... }
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "ir/graph.h"

namespace qat::passes::quant {

// Conv, ConvTranspose, Gemm, MatMul: the layers with an INT8 kernel and a weight.
bool is_weighted_op(const std::string& op_type);
// Relu, Clip, LeakyRelu, HardSwish, HardSigmoid, Sigmoid, Tanh: element-wise activations an INT8
// kernel applies as a post-op (Tanh only for the report's purposes).
bool is_fusable_activation(const std::string& op_type);
// Ops that commute with quantization (Q can move before them, DQ after them) and so keep INT8:
// MaxPool and the data-movement ops (Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Slice,
// Split, Gather, Identity, Dropout, Concat, Tile, Expand).
bool commutes_with_quantization(const std::string& op_type);

// A float32 tensor that Q/DQ (opset 13: float input, float scale) can quantize. A value whose
// dtype is not known counts as float32 when `assume_float` (the ops that only take float).
bool is_quantizable_tensor(const ir::Value* v, bool assume_float = true);
// An initializer or Constant output.
inline bool is_weight(const ir::Value* v) { return v && v->is_constant(); }

// Mul(x, Sigmoid(x)) in either order: the Swish/SiLU activation.
bool is_swish_mul(const ir::Node& mul);

// The chain that produces a tensor "straight from a Conv branch": a weighted op, optionally
// followed by BatchNormalization, one activation (incl. Swish as Sigmoid+Mul) and
// Dropout/Identity, every intermediate tensor read by the next step only (Swish's input is read
// by its Sigmoid and Mul) and no intermediate being a graph output. head == nullptr when the
// tensor is not such a branch.
struct ConvBranch {
    const ir::Node* head = nullptr;      // the weighted op
    std::vector<const ir::Node*> chain;  // head first, the tensor's producer last
};
// `require_single_use`: the tensor itself must be read by exactly one node (the Add); the
// report relaxes this to describe outputs with several readers.
ConvBranch conv_branch(const ir::Value& v, bool require_single_use = true);

// Longest path (in nodes) from the graph inputs to each node; memoised per call site.
class DepthMap {
  public:
    explicit DepthMap(const ir::Graph& g);
    int depth(const ir::Node* n) const;
    // Depth of a value's producer; 0 for graph inputs and constants.
    int depth(const ir::Value* v) const;

  private:
    std::unordered_map<const ir::Node*, int> depth_;
};

// Nodes reading `v` (each once, in use order).
std::vector<const ir::Node*> consumers(const ir::Value& v);

}  // namespace qat::passes::quant
