// TrainableGraph: an ir::Graph as a libtorch module, behind a plain C++ interface (no libtorch
// headers), for tests, benchmarks and tools that want the training-side forward pass.
//
//   QAT_ASSIGN_OR_RETURN(auto tg, train::TrainableGraph::create(graph, {}));
//   QAT_ASSIGN_OR_RETURN(std::vector<Tensor> out, tg->forward({x}));          // eval mode
//   for (const auto& q : tg->quantizers()) std::cout << q.name << " " << q.scale[0] << "\n";
//
// The trainer (train.h) builds the same module; this class exposes it for checks such as FP32
// parity with the reference backend and fake-quant parity with Q/DQ execution.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "train/module_options.h"

namespace qat::train {

namespace detail {
class GraphModule;
}

struct ParamInfo {
    std::string name;  // source initializer
    std::string kind;  // weight | bias | bn_scale | bn_bias | other
    std::vector<int64_t> dims;
    bool stored_quantized = false;  // an int8 / int32 initializer behind a DequantizeLinear
};

struct QuantizerInfo {
    std::string name;    // QuantizeLinear node (DequantizeLinear for int8-stored weights)
    std::string tensor;  // quantized tensor
    bool weight = false;
    int64_t axis = -1;
    std::string mode;          // last-batch | ema | fixed | learned | follow (weights)
    std::string state;         // quantize | calibrate | disabled
    std::vector<float> scale;  // current scale (empty while uninitialised)
};

class TrainableGraph {
  public:
    static Result<std::unique_ptr<TrainableGraph>> create(const ir::Graph& graph, const ModuleOptions& options = {});
    ~TrainableGraph();

    // Inputs in the order of input_names(). training: batch statistics in BatchNormalization,
    // dropout, moving quantizer ranges; no gradient is kept either way.
    Result<std::vector<Tensor>> forward(const std::vector<Tensor>& inputs, bool training = false);

    const std::vector<std::string>& input_names() const;
    const std::vector<std::string>& output_names() const;
    std::vector<ParamInfo> params() const;
    std::vector<QuantizerInfo> quantizers() const;
    // Notes from building (e.g. asymmetric quantizers kept fixed).
    const std::vector<std::string>& notes() const;

    // Sets the state of every quantizer (calibrate: observe ranges, pass through).
    void set_quantizer_state(QuantizerState state);

    detail::GraphModule& module() { return *module_; }

  private:
    explicit TrainableGraph(std::unique_ptr<detail::GraphModule> m);
    std::unique_ptr<detail::GraphModule> module_;
};

}  // namespace qat::train
