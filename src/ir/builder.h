// ir::Builder: a small API for writing graphs by hand (tests) and by program (the model zoo).
//
// Each op creates its node, its weights (initializers drawn from a seeded generator, so the same
// seed gives the same model bit for bit) and sets the output dtype/shape where it is easy to
// compute (conv/pool output sizes, broadcasting, concat), so a built graph is usable without ONNX
// shape inference. Node names are made unique; an op's output value takes the node's name and
// its weights are named "<node>.weight", "<node>.bias", ...
//
//   ir::Graph g;
//   ir::Builder b(g, /*seed=*/1);
//   ir::Value* x = b.input("input", DataType::kFloat32, Shape{Dim::symbolic("N"), 1, 28, 28});
//   ir::Value* y = b.conv(x, {.out_channels = 16, .kernel = 3, .stride = 1, .pad = 1}, "conv1");
//   y = b.relu(b.batch_norm(y, "bn1"), "relu1");
//   y = b.flatten(b.global_avg_pool(y, "gap"), 1, "flatten");
//   b.output(b.with_output_name("logits").gemm(y, 10, "fc"));  // y computed first, see below
//   QAT_RETURN_IF_ERROR(b.status());   // first problem met (bad shapes, null inputs), if any
//
// Errors are sticky: an op that cannot be built records the first problem in status() and
// returns nullptr; later ops given nullptr return nullptr too, so builder code reads straight
// and checks once at the end.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace qat::ir {

struct ConvSpec {
    int64_t out_channels = 0;
    int64_t kernel = 3;  // square kernel
    int64_t stride = 1;
    int64_t pad = -1;    // -1: dilation * (kernel - 1) / 2 on every side ("same" at stride 1, odd kernel)
    int64_t groups = 1;  // groups == in_channels == out_channels is depthwise
    bool bias = true;
    int64_t dilation = 1;
};

struct PoolSpec {
    int64_t kernel = 2;
    int64_t stride = -1;  // -1: same as kernel
    int64_t pad = 0;
    bool ceil_mode = false;
    bool count_include_pad = false;  // AveragePool only
};

struct BuilderOptions {
    uint64_t seed = 0;
    // BatchNormalization parameters: identity (gamma 1, beta 0, mean 0, var 1, the usual init
    // before training) or random (gamma, var in [0.5, 1.5], beta, mean in [-0.2, 0.2]) so that
    // numerical tests exercise every term.
    bool random_bn_stats = false;
};

class Builder {
  public:
    explicit Builder(Graph& g, uint64_t seed = 0);
    Builder(Graph& g, const BuilderOptions& options);

    Graph& graph() { return g_; }
    // The first problem an op met, or OK.
    const Status& status() const { return status_; }

    // ---- graph interface ----
    Value* input(const std::string& name, DataType dtype, Shape shape);
    void output(Value* v);
    // The next op created gets this output value name instead of the node's name (e.g.
    // "logits"). It is one-shot and taken by whichever op runs next, so compute the op's inputs
    // before calling it: `b.with_output_name("y").relu(b.conv(...))` would name the conv.
    Builder& with_output_name(std::string value_name);

    // ---- weights ----
    // An initializer with a unique name derived from `name`.
    Value* initializer(const std::string& name, Tensor payload);
    // He (Kaiming) normal: N(0, 2 / fan_in), the init for layers followed by ReLU-like ops.
    Value* he_normal(const std::string& name, std::vector<int64_t> dims, int64_t fan_in);
    // Uniform in (lo, hi).
    Value* uniform(const std::string& name, std::vector<int64_t> dims, float lo, float hi);
    Value* scalar(const std::string& name, float v);
    Value* int64s(const std::string& name, const std::vector<int64_t>& values);
    // Draws from the builder's generator (deterministic given the seed and the call sequence).
    double next_uniform();  // (0, 1)
    double next_normal();   // N(0, 1), Box-Muller on mt19937 (portable, unlike std::normal_distribution)

    // ---- ops ----
    // Conv with He-normal weight [out, in/groups, k, k] and, with spec.bias, a bias uniform in
    // +-1/sqrt(fan_in) (PyTorch's default). The input's channel dim must be static.
    Value* conv(Value* x, const ConvSpec& spec, const std::string& name);
    Value* batch_norm(Value* x, const std::string& name, float epsilon = 1e-5f);
    Value* relu(Value* x, const std::string& name);
    // Clip(x, 0, 6) with min/max as inputs (opset 11+ form).
    Value* relu6(Value* x, const std::string& name);
    Value* clip(Value* x, float lo, float hi, const std::string& name);
    Value* sigmoid(Value* x, const std::string& name);
    // HardSwish exists from opset 14: raises the graph's ONNX opset to 14 when lower.
    Value* hard_swish(Value* x, const std::string& name);
    Value* hard_sigmoid(Value* x, const std::string& name, float alpha = 0.2f, float beta = 0.5f);
    // x * sigmoid(x) as Sigmoid ("<name>.sigmoid") + Mul ("<name>"): the form exporters emit.
    Value* swish(Value* x, const std::string& name);
    Value* add(Value* a, Value* b, const std::string& name);
    Value* mul(Value* a, Value* b, const std::string& name);
    Value* max_pool(Value* x, const PoolSpec& spec, const std::string& name);
    Value* avg_pool(Value* x, const PoolSpec& spec, const std::string& name);
    Value* global_avg_pool(Value* x, const std::string& name);
    Value* concat(const std::vector<Value*>& xs, int64_t axis, const std::string& name);
    Value* flatten(Value* x, int64_t axis, const std::string& name);
    // Dense layer: Gemm(x, W[out, in], b) with transB = 1; x must be 2-D with a static dim 1.
    Value* gemm(Value* x, int64_t out_features, const std::string& name, bool bias = true);
    Value* matmul(Value* a, Value* b, const std::string& name);
    // Reshape to `shape` (0 copies the input dim, -1 is inferred), shape as an int64 initializer.
    Value* reshape(Value* x, const std::vector<int64_t>& shape, const std::string& name);
    Value* softmax(Value* x, int64_t axis, const std::string& name);

    // Any op: outputs are named after the node ("<name>" or "<name>_out<i>") with unknown type.
    Node* node(const std::string& op_type, const std::vector<Value*>& inputs,
               const std::vector<std::pair<std::string, Attribute>>& attrs, const std::string& name,
               int num_outputs = 1, const std::string& domain = "");

  private:
    // Records the first error; always returns nullptr for `return fail(...)`.
    template <typename... Args>
    Value* fail(Args&&... args) {
        if (status_.ok()) status_ = invalid_argument(std::forward<Args>(args)...);
        return nullptr;
    }
    bool inputs_ok(const std::vector<Value*>& xs, const std::string& name);
    // Creates node + single output value (named by the override or the node name).
    Node* make(const std::string& op_type, const std::vector<Value*>& inputs, const std::string& name,
               const std::string& domain = "");
    Value* unary(const std::string& op, Value* x, const std::string& name);
    Value* binary(const std::string& op, Value* a, Value* b, const std::string& name);
    Value* pool(const std::string& op, Value* x, const PoolSpec& spec, const std::string& name);
    Tensor random_tensor(std::vector<int64_t> dims, bool normal, double a, double b);

    Graph& g_;
    BuilderOptions options_;
    std::mt19937 rng_;
    double spare_normal_ = 0;
    bool has_spare_normal_ = false;
    Status status_;
    std::string next_output_name_;
};

// Output spatial size of a conv/pool window: floor or ceil((in + 2*pad - dilation*(k-1) - 1) / stride) + 1.
int64_t window_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation = 1,
                           bool ceil_mode = false);

// Numpy-style broadcast of two shapes; error when static dims disagree.
Result<Shape> broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace qat::ir
