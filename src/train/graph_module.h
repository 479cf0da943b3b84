// Internal to src/train: an ir::Graph executed with libtorch ops so that autograd works.
//
// GraphModule::build turns the graph into a flat program: one step per node in topological order,
// each a closure over libtorch calls (torch_ops.cpp), reading and writing value slots. Weights
// become parameters (leaf tensors with requires_grad):
//   - Conv / ConvTranspose inputs 1 and 2, Gemm inputs 1 and 2 (and a constant input 0), the
//     constant inputs of MatMul, the constant of an Add that reads a MatMul (its bias), PRelu's
//     slope: float initializers, directly or through a weight Q/DQ pair, or int8/int32
//     initializers through a DequantizeLinear (their dequantized values become the parameter);
//   - BatchNormalization scale and B are parameters, its mean and var buffers (running stats).
// Every QuantizeLinear -> DequantizeLinear pair becomes a FakeQuantizer (fake_quant.h); an
// int8-stored weight's DequantizeLinear becomes the weight's quantizer. Every other constant
// stays a constant.
//
//   QAT_ASSIGN_OR_RETURN(auto m, GraphModule::build(graph, {}));
//   m->set_training(true);
//   QAT_ASSIGN_OR_RETURN(std::vector<at::Tensor> out, m->forward({x}));
//   at::cross_entropy_loss(...).backward();        // grads land in m->params()[i].tensor.grad()
//
// Ops without a training lowering, Q/DQ patterns that are not pairs, and fused com.qat ops are
// refused at build time with a message that names the node.
#pragma once

#include <ATen/ATen.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "train/fake_quant.h"
#include "train/module_options.h"

namespace qat::train::detail {

// What a step sees besides its inputs.
struct OpContext {
    bool training = false;     // dropout active
    bool bn_training = false;  // BatchNormalization uses batch statistics and updates running ones
    uint64_t seed = 0;         // dropout masks: from (seed, step, node index)
    int64_t step = 0;
    int64_t node_index = 0;
};

// One lowered node: inputs (undefined for omitted optional inputs) -> outputs (one per node
// output; unread optional outputs may be left undefined). Throws on bad input at run time (the
// module turns that into a Status naming the node).
using OpFn = std::function<std::vector<at::Tensor>(OpContext&, const std::vector<at::Tensor>&)>;

// The libtorch lowering of a node that is not Q/DQ or Constant (torch_ops.cpp). Errors name the
// node and say what is not supported.
Result<OpFn> lower_node(const ir::Node& node);

enum class ParamKind { kWeight, kBias, kBnScale, kBnBias, kOther };
const char* param_kind_name(ParamKind k);

struct Param {
    std::string name;   // the initializer it comes from and is written back to
    at::Tensor tensor;  // float32 leaf; requires_grad while trainable
    ParamKind kind = ParamKind::kOther;
    bool decay = false;  // weight decay applies (Conv / Gemm / MatMul weights)
    // Stored quantized (int8 weight or int32 bias behind a DequantizeLinear): that node's name.
    std::string dq_node;
    DataType stored_dtype = DataType::kFloat32;
};

struct Buffer {
    std::string name;  // BatchNormalization mean / var initializer
    at::Tensor tensor;
};

class GraphModule {
  public:
    static Result<std::unique_ptr<GraphModule>> build(const ir::Graph& graph, const ModuleOptions& options);

    // Inputs in the order of input_names(); outputs in the order of output_names().
    Result<std::vector<at::Tensor>> forward(const std::vector<at::Tensor>& inputs);

    void set_training(bool on) { ctx_.training = on; }
    bool training() const { return ctx_.training; }
    // BatchNormalization in training mode uses batch statistics unless frozen.
    void set_bn_frozen(bool frozen) { bn_frozen_ = frozen; }
    bool bn_frozen() const { return bn_frozen_; }
    // Step number for the dropout masks of the next forward.
    void set_step(int64_t step) { ctx_.step = step; }

    const std::vector<std::string>& input_names() const { return input_names_; }
    const std::vector<std::string>& output_names() const { return output_names_; }
    // The module's own copy of the graph (node names for reports).
    const ir::Graph& graph() const { return *graph_; }

    std::vector<Param>& params() { return params_; }
    std::vector<Buffer>& buffers() { return buffers_; }
    std::vector<std::unique_ptr<FakeQuantizer>>& quantizers() { return quantizers_; }
    // Quantizer of a weight parameter (nullptr when the weight is not quantized).
    FakeQuantizer* weight_quantizer(const std::string& param_name) const;
    // The tensors an optimizer updates: trainable parameters, then learned scales (each once).
    std::vector<at::Tensor> trainable_tensors() const;
    // Notes gathered while building (quantizers forced to fixed, ...), for the log.
    const std::vector<std::string>& notes() const { return notes_; }

  private:
    GraphModule() = default;
    struct Step {
        const ir::Node* node = nullptr;
        OpFn fn;
        std::vector<int> in;       // -1: omitted
        std::vector<int> out;      // -1: not stored
        std::vector<int> release;  // slots whose last reader is this step
    };
    Status build_program(const ModuleOptions& options);

    std::unique_ptr<ir::Graph> graph_;
    std::vector<Step> steps_;
    std::vector<at::Tensor> fixed_;  // per slot: constants, parameters, buffers (else undefined)
    std::vector<int> input_slots_, output_slots_;
    std::vector<std::string> input_names_, output_names_;
    std::vector<Param> params_;
    std::vector<Buffer> buffers_;
    std::vector<std::unique_ptr<FakeQuantizer>> quantizers_;
    std::vector<std::shared_ptr<QuantGroup>> groups_;
    std::map<std::string, FakeQuantizer*> weight_quantizer_;
    std::vector<std::string> notes_;
    OpContext ctx_;
    bool bn_frozen_ = false;
    size_t num_slots_ = 0;
};

}  // namespace qat::train::detail
