#include "ir/builder.h"

#include <algorithm>
#include <cmath>

namespace qat::ir {

int64_t window_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation, bool ceil_mode) {
    int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
    if (span < 0 || stride <= 0) return 0;
    int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    // As ONNX Runtime and PyTorch: with ceil_mode the last window must start inside the input
    // or its left padding.
    if (ceil_mode && (out - 1) * stride >= in + pad) --out;
    return out;
}

Result<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
    if (!a.rank_known() || !b.rank_known()) return Shape::unknown_rank();
    size_t r = std::max(a.rank(), b.rank());
    std::vector<Dim> out(r);
    for (size_t i = 0; i < r; ++i) {
        // Align from the right.
        bool ha = i + a.rank() >= r, hb = i + b.rank() >= r;
        Dim da = ha ? a[i + a.rank() - r] : Dim(1);
        Dim db = hb ? b[i + b.rank() - r] : Dim(1);
        if (da.is_static() && da.value == 1) {
            out[i] = db;
        } else if (db.is_static() && db.value == 1) {
            out[i] = da;
        } else if (da.is_static() && db.is_static()) {
            if (da.value != db.value)
                return invalid_argument("cannot broadcast ", a.to_string(), " with ", b.to_string());
            out[i] = da;
        } else if (da == db) {
            out[i] = da;  // same symbol
        } else {
            out[i] = da.is_static() ? da : db.is_static() ? db : Dim();
        }
    }
    return Shape(std::move(out));
}

Builder::Builder(Graph& g, uint64_t seed) : Builder(g, BuilderOptions{.seed = seed}) {}

Builder::Builder(Graph& g, const BuilderOptions& options)
    : g_(g), options_(options), rng_(static_cast<std::mt19937::result_type>(options.seed ^ (options.seed >> 32))) {}

Value* Builder::input(const std::string& name, DataType dtype, Shape shape) {
    if (g_.find_value(name)) return fail("builder: value name '", name, "' is already taken");
    return g_.add_input(name, dtype, std::move(shape));
}

void Builder::output(Value* v) {
    if (!v) {
        fail("builder: graph output is null (an earlier op failed)");
        return;
    }
    g_.add_output(v);
}

Builder& Builder::with_output_name(std::string value_name) {
    next_output_name_ = std::move(value_name);
    return *this;
}

double Builder::next_uniform() {
    // One 32-bit draw, centred in its bin: (0, 1) exclusive, portable across standard libraries,
    // and plenty of resolution for weight init (ResNet-50 draws 25M of these).
    return (static_cast<double>(rng_()) + 0.5) * (1.0 / 4294967296.0);
}

double Builder::next_normal() {
    // Box-Muller gives two independent normals per pair of uniforms; keep the second.
    if (has_spare_normal_) {
        has_spare_normal_ = false;
        return spare_normal_;
    }
    double u1 = next_uniform(), u2 = next_uniform();
    double r = std::sqrt(-2.0 * std::log(u1));
    double t = 6.283185307179586 * u2;
    spare_normal_ = r * std::sin(t);
    has_spare_normal_ = true;
    return r * std::cos(t);
}

Tensor Builder::random_tensor(std::vector<int64_t> dims, bool normal, double a, double b) {
    Tensor t = Tensor::empty(DataType::kFloat32, std::move(dims));
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i)
        p[i] = static_cast<float>(normal ? a + b * next_normal() : a + (b - a) * next_uniform());
    return t;
}

Value* Builder::initializer(const std::string& name, Tensor payload) {
    return g_.add_initializer(g_.unique_value_name(name), std::move(payload));
}

Value* Builder::he_normal(const std::string& name, std::vector<int64_t> dims, int64_t fan_in) {
    double stddev = std::sqrt(2.0 / static_cast<double>(std::max<int64_t>(fan_in, 1)));
    return initializer(name, random_tensor(std::move(dims), true, 0.0, stddev));
}

Value* Builder::uniform(const std::string& name, std::vector<int64_t> dims, float lo, float hi) {
    return initializer(name, random_tensor(std::move(dims), false, lo, hi));
}

Value* Builder::scalar(const std::string& name, float v) { return initializer(name, Tensor::scalar<float>(v)); }

Value* Builder::int64s(const std::string& name, const std::vector<int64_t>& values) {
    return initializer(name, Tensor::from_vector<int64_t>({static_cast<int64_t>(values.size())}, values));
}

bool Builder::inputs_ok(const std::vector<Value*>& xs, const std::string& name) {
    for (Value* x : xs)
        if (!x) {
            fail("builder: '", name, "' got a null input (an earlier op failed)");
            return false;
        }
    return true;
}

Node* Builder::make(const std::string& op_type, const std::vector<Value*>& inputs, const std::string& name,
                    const std::string& domain) {
    std::string node_name = g_.unique_node_name(name.empty() ? op_type : name);
    std::string out_name = next_output_name_.empty() ? node_name : next_output_name_;
    next_output_name_.clear();
    return g_.add_node(op_type, inputs, {out_name}, node_name, domain);
}

Node* Builder::node(const std::string& op_type, const std::vector<Value*>& inputs,
                    const std::vector<std::pair<std::string, Attribute>>& attrs, const std::string& name,
                    int num_outputs, const std::string& domain) {
    std::string node_name = g_.unique_node_name(name.empty() ? op_type : name);
    std::vector<std::string> outs;
    for (int i = 0; i < num_outputs; ++i) {
        if (i == 0 && !next_output_name_.empty())
            outs.push_back(next_output_name_);
        else
            outs.push_back(num_outputs == 1 ? node_name : node_name + "_out" + std::to_string(i));
    }
    next_output_name_.clear();
    Node* n = g_.add_node(op_type, inputs, outs, node_name, domain);
    for (const auto& [k, a] : attrs) n->set_attr(k, a);
    return n;
}

Value* Builder::unary(const std::string& op, Value* x, const std::string& name) {
    if (!inputs_ok({x}, name)) return nullptr;
    Node* n = make(op, {x}, name);
    n->output(0)->set_dtype(x->dtype());
    n->output(0)->set_shape(x->shape());
    return n->output(0);
}

Value* Builder::binary(const std::string& op, Value* a, Value* b, const std::string& name) {
    if (!inputs_ok({a, b}, name)) return nullptr;
    auto shape = broadcast_shapes(a->shape(), b->shape());
    if (!shape.ok()) return fail("builder: ", op, " '", name, "': ", shape.status().message());
    if (a->dtype() != b->dtype())
        return fail("builder: ", op, " '", name, "': inputs have dtypes ", dtype_name(a->dtype()), " and ",
                    dtype_name(b->dtype()));
    Node* n = make(op, {a, b}, name);
    n->output(0)->set_dtype(a->dtype());
    n->output(0)->set_shape(*shape);
    return n->output(0);
}

Value* Builder::conv(Value* x, const ConvSpec& spec, const std::string& name) {
    if (!inputs_ok({x}, name)) return nullptr;
    const Shape& xs = x->shape();
    if (!xs.rank_known() || xs.rank() < 3)
        return fail("builder: Conv '", name, "': input '", x->name(), "' must be at least 3-D, got ", xs.to_string());
    if (!xs[1].is_static())
        return fail("builder: Conv '", name, "': input channels of '", x->name(), "' must be static, got ",
                    xs.to_string());
    int64_t cin = xs[1].value;
    if (spec.out_channels <= 0 || spec.kernel <= 0 || spec.stride <= 0 || spec.groups <= 0 || spec.dilation <= 0)
        return fail("builder: Conv '", name, "': out_channels, kernel, stride, groups and dilation must be positive");
    if (cin % spec.groups != 0 || spec.out_channels % spec.groups != 0)
        return fail("builder: Conv '", name, "': groups ", spec.groups, " must divide input channels ", cin,
                    " and output channels ", spec.out_channels);
    int64_t pad = spec.pad >= 0 ? spec.pad : spec.dilation * (spec.kernel - 1) / 2;
    size_t spatial = xs.rank() - 2;
    std::vector<Dim> out_dims{xs[0], Dim(spec.out_channels)};
    for (size_t i = 0; i < spatial; ++i) {
        const Dim& d = xs[2 + i];
        if (!d.is_static()) {
            out_dims.emplace_back();
            continue;
        }
        int64_t o = window_output_size(d.value, spec.kernel, spec.stride, pad, spec.dilation);
        if (o <= 0)
            return fail("builder: Conv '", name, "': input ", xs.to_string(), " is too small for kernel ", spec.kernel,
                        " stride ", spec.stride, " pad ", pad);
        out_dims.emplace_back(o);
    }
    std::string node_name = g_.unique_node_name(name.empty() ? "Conv" : name);
    int64_t per_group = cin / spec.groups;
    std::vector<int64_t> wdims{spec.out_channels, per_group};
    int64_t fan_in = per_group;
    for (size_t i = 0; i < spatial; ++i) {
        wdims.push_back(spec.kernel);
        fan_in *= spec.kernel;
    }
    std::vector<Value*> ins{x, he_normal(node_name + ".weight", wdims, fan_in)};
    if (spec.bias) {
        float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
        ins.push_back(uniform(node_name + ".bias", {spec.out_channels}, -bound, bound));
    }
    Node* n = make("Conv", ins, node_name);
    std::vector<int64_t> ks(spatial, spec.kernel), ss(spatial, spec.stride), ds(spatial, spec.dilation),
        pads(2 * spatial, pad);
    n->set_attr("kernel_shape", Attribute::from_ints(ks));
    n->set_attr("strides", Attribute::from_ints(ss));
    n->set_attr("pads", Attribute::from_ints(pads));
    n->set_attr("dilations", Attribute::from_ints(ds));
    n->set_attr("group", Attribute::from_int(spec.groups));
    n->output(0)->set_dtype(x->dtype());
    n->output(0)->set_shape(Shape(std::move(out_dims)));
    return n->output(0);
}

Value* Builder::batch_norm(Value* x, const std::string& name, float epsilon) {
    if (!inputs_ok({x}, name)) return nullptr;
    const Shape& xs = x->shape();
    if (!xs.rank_known() || xs.rank() < 2 || !xs[1].is_static())
        return fail("builder: BatchNormalization '", name, "': input '", x->name(),
                    "' needs a static channel dim, got ", xs.to_string());
    int64_t c = xs[1].value;
    std::string node_name = g_.unique_node_name(name.empty() ? "BatchNormalization" : name);
    Value *scale, *bias, *mean, *var;
    if (options_.random_bn_stats) {
        scale = uniform(node_name + ".scale", {c}, 0.5f, 1.5f);
        bias = uniform(node_name + ".bias", {c}, -0.2f, 0.2f);
        mean = uniform(node_name + ".mean", {c}, -0.2f, 0.2f);
        var = uniform(node_name + ".var", {c}, 0.5f, 1.5f);
    } else {
        std::vector<float> ones(c, 1.0f), zeros(c, 0.0f);
        scale = initializer(node_name + ".scale", Tensor::from_vector<float>({c}, ones));
        bias = initializer(node_name + ".bias", Tensor::from_vector<float>({c}, zeros));
        mean = initializer(node_name + ".mean", Tensor::from_vector<float>({c}, zeros));
        var = initializer(node_name + ".var", Tensor::from_vector<float>({c}, ones));
    }
    Node* n = make("BatchNormalization", {x, scale, bias, mean, var}, node_name);
    n->set_attr("epsilon", Attribute::from_float(epsilon));
    n->output(0)->set_dtype(x->dtype());
    n->output(0)->set_shape(xs);
    return n->output(0);
}

Value* Builder::relu(Value* x, const std::string& name) { return unary("Relu", x, name); }
Value* Builder::sigmoid(Value* x, const std::string& name) { return unary("Sigmoid", x, name); }

Value* Builder::relu6(Value* x, const std::string& name) { return clip(x, 0.0f, 6.0f, name); }

Value* Builder::clip(Value* x, float lo, float hi, const std::string& name) {
    if (!inputs_ok({x}, name)) return nullptr;
    if (!(lo <= hi)) return fail("builder: Clip '", name, "': min ", lo, " is above max ", hi);
    std::string node_name = g_.unique_node_name(name.empty() ? "Clip" : name);
    Value* mn = scalar(node_name + ".min", lo);
    Value* mx = scalar(node_name + ".max", hi);
    Node* n = make("Clip", {x, mn, mx}, node_name);
    n->output(0)->set_dtype(x->dtype());
    n->output(0)->set_shape(x->shape());
    return n->output(0);
}

Value* Builder::hard_swish(Value* x, const std::string& name) {
    if (g_.info().opset("") < 14) g_.info().set_opset("", 14);
    return unary("HardSwish", x, name);
}

Value* Builder::hard_sigmoid(Value* x, const std::string& name, float alpha, float beta) {
    Value* y = unary("HardSigmoid", x, name);
    if (y) {
        y->producer()->set_attr("alpha", Attribute::from_float(alpha));
        y->producer()->set_attr("beta", Attribute::from_float(beta));
    }
    return y;
}

Value* Builder::swish(Value* x, const std::string& name) {
    if (!inputs_ok({x}, name)) return nullptr;
    std::string base = name.empty() ? "swish" : name;
    std::string out_override = std::move(next_output_name_);
    next_output_name_.clear();
    Value* s = sigmoid(x, base + ".sigmoid");
    next_output_name_ = out_override;
    return mul(x, s, base);
}

Value* Builder::add(Value* a, Value* b, const std::string& name) { return binary("Add", a, b, name); }
Value* Builder::mul(Value* a, Value* b, const std::string& name) { return binary("Mul", a, b, name); }

Value* Builder::pool(const std::string& op, Value* x, const PoolSpec& spec, const std::string& name) {
    if (!inputs_ok({x}, name)) return nullptr;
    const Shape& xs = x->shape();
    if (!xs.rank_known() || xs.rank() < 3)
        return fail("builder: ", op, " '", name, "': input must be at least 3-D, got ", xs.to_string());
    int64_t stride = spec.stride > 0 ? spec.stride : spec.kernel;
    if (spec.kernel <= 0 || spec.pad < 0)
        return fail("builder: ", op, " '", name, "': kernel must be positive and pad non-negative");
    if (spec.pad >= spec.kernel)
        return fail("builder: ", op, " '", name, "': pad ", spec.pad, " must be smaller than kernel ", spec.kernel);
    size_t spatial = xs.rank() - 2;
    std::vector<Dim> out_dims{xs[0], xs[1]};
    for (size_t i = 0; i < spatial; ++i) {
        const Dim& d = xs[2 + i];
        if (!d.is_static()) {
            out_dims.emplace_back();
            continue;
        }
        int64_t o = window_output_size(d.value, spec.kernel, stride, spec.pad, 1, spec.ceil_mode);
        if (o <= 0)
            return fail("builder: ", op, " '", name, "': input ", xs.to_string(), " is too small for kernel ",
                        spec.kernel, " stride ", stride, " pad ", spec.pad);
        out_dims.emplace_back(o);
    }
    Node* n = make(op, {x}, name);
    n->set_attr("kernel_shape", Attribute::from_ints(std::vector<int64_t>(spatial, spec.kernel)));
    n->set_attr("strides", Attribute::from_ints(std::vector<int64_t>(spatial, stride)));
    n->set_attr("pads", Attribute::from_ints(std::vector<int64_t>(2 * spatial, spec.pad)));
    if (spec.ceil_mode) n->set_attr("ceil_mode", Attribute::from_int(1));
    if (op == "AveragePool" && spec.count_include_pad) n->set_attr("count_include_pad", Attribute::from_int(1));
    n->output(0)->set_dtype(x->dtype());
    n->output(0)->set_shape(Shape(std::move(out_dims)));
    return n->output(0);
}

Value* Builder::max_pool(Value* x, const PoolSpec& spec, const std::string& name) {
    return pool("MaxPool", x, spec, name);
}
Value* Builder::avg_pool(Value* x, const PoolSpec& spec, const std::string& name) {
    return pool("AveragePool", x, spec, name);
}

Value* Builder::global_avg_pool(Value* x, const std::string& name) {
    if (!inputs_ok({x}, name)) return nullptr;
    const Shape& xs = x->shape();
    if (!xs.rank_known() || xs.rank() < 3)
        return fail("builder: GlobalAveragePool '", name, "': input must be at least 3-D, got ", xs.to_string());
    std::vector<Dim> out_dims{xs[0], xs[1]};
    for (size_t i = 2; i < xs.rank(); ++i) out_dims.emplace_back(1);
    Node* n = make("GlobalAveragePool", {x}, name);
    n->output(0)->set_dtype(x->dtype());
    n->output(0)->set_shape(Shape(std::move(out_dims)));
    return n->output(0);
}

Value* Builder::concat(const std::vector<Value*>& xs, int64_t axis, const std::string& name) {
    if (xs.empty()) return fail("builder: Concat '", name, "' needs at least one input");
    if (!inputs_ok(xs, name)) return nullptr;
    Shape out = xs[0]->shape();
    if (out.rank_known()) {
        int64_t r = static_cast<int64_t>(out.rank());
        int64_t a = axis < 0 ? axis + r : axis;
        if (a < 0 || a >= r) return fail("builder: Concat '", name, "': axis ", axis, " out of range for rank ", r);
        int64_t total = 0;
        bool known = true;
        for (Value* x : xs) {
            const Shape& s = x->shape();
            if (!s.rank_known()) {
                known = false;
                continue;
            }
            if (static_cast<int64_t>(s.rank()) != r)
                return fail("builder: Concat '", name, "': inputs have ranks ", r, " and ", s.rank());
            for (int64_t i = 0; i < r; ++i)
                if (i != a && s[i].is_static() && out[i].is_static() && s[i].value != out[i].value)
                    return fail("builder: Concat '", name, "': input '", x->name(), "' ", s.to_string(),
                                " does not match ", out.to_string(), " outside axis ", axis);
            if (s[a].is_static())
                total += s[a].value;
            else
                known = false;
        }
        out[a] = known ? Dim(total) : Dim();
    }
    Node* n = make("Concat", xs, name);
    n->set_attr("axis", Attribute::from_int(axis));
    n->output(0)->set_dtype(xs[0]->dtype());
    n->output(0)->set_shape(std::move(out));
    return n->output(0);
}

Value* Builder::flatten(Value* x, int64_t axis, const std::string& name) {
    if (!inputs_ok({x}, name)) return nullptr;
    const Shape& xs = x->shape();
    Shape out = Shape::unknown_rank();
    if (xs.rank_known()) {
        int64_t r = static_cast<int64_t>(xs.rank());
        int64_t a = axis < 0 ? axis + r : axis;
        if (a < 0 || a > r) return fail("builder: Flatten '", name, "': axis ", axis, " out of range for rank ", r);
        auto group = [&](int64_t b, int64_t e) -> Dim {
            if (e - b == 1) return xs[b];
            int64_t p = 1;
            for (int64_t i = b; i < e; ++i) {
                if (!xs[i].is_static()) return Dim();
                p *= xs[i].value;
            }
            return Dim(p);
        };
        out = Shape{group(0, a), group(a, r)};
    }
    Node* n = make("Flatten", {x}, name);
    n->set_attr("axis", Attribute::from_int(axis));
    n->output(0)->set_dtype(x->dtype());
    n->output(0)->set_shape(std::move(out));
    return n->output(0);
}

Value* Builder::gemm(Value* x, int64_t out_features, const std::string& name, bool bias) {
    if (!inputs_ok({x}, name)) return nullptr;
    const Shape& xs = x->shape();
    if (!xs.rank_known() || xs.rank() != 2 || !xs[1].is_static())
        return fail("builder: Gemm '", name, "': input '", x->name(), "' must be 2-D with a static feature dim, got ",
                    xs.to_string());
    if (out_features <= 0) return fail("builder: Gemm '", name, "': out_features must be positive");
    int64_t in = xs[1].value;
    std::string node_name = g_.unique_node_name(name.empty() ? "Gemm" : name);
    std::vector<Value*> ins{x, he_normal(node_name + ".weight", {out_features, in}, in)};
    if (bias) {
        float bound = 1.0f / std::sqrt(static_cast<float>(in));
        ins.push_back(uniform(node_name + ".bias", {out_features}, -bound, bound));
    }
    Node* n = make("Gemm", ins, node_name);
    n->set_attr("transB", Attribute::from_int(1));
    n->output(0)->set_dtype(x->dtype());
    n->output(0)->set_shape(Shape{xs[0], Dim(out_features)});
    return n->output(0);
}

Value* Builder::matmul(Value* a, Value* b, const std::string& name) {
    if (!inputs_ok({a, b}, name)) return nullptr;
    const Shape& as = a->shape();
    const Shape& bs = b->shape();
    Shape out = Shape::unknown_rank();
    if (as.rank_known() && bs.rank_known() && as.rank() >= 2 && bs.rank() >= 2) {
        const Dim& k1 = as[as.rank() - 1];
        const Dim& k2 = bs[bs.rank() - 2];
        if (k1.is_static() && k2.is_static() && k1.value != k2.value)
            return fail("builder: MatMul '", name, "': ", as.to_string(), " x ", bs.to_string(), " inner dims differ");
        std::vector<Dim> ab(as.dims().begin(), as.dims().end() - 2), bb(bs.dims().begin(), bs.dims().end() - 2);
        auto batch = broadcast_shapes(Shape(ab), Shape(bb));
        if (!batch.ok()) return fail("builder: MatMul '", name, "': ", batch.status().message());
        std::vector<Dim> d = batch->dims();
        d.push_back(as[as.rank() - 2]);
        d.push_back(bs[bs.rank() - 1]);
        out = Shape(std::move(d));
    }
    Node* n = make("MatMul", {a, b}, name);
    n->output(0)->set_dtype(a->dtype());
    n->output(0)->set_shape(std::move(out));
    return n->output(0);
}

Value* Builder::reshape(Value* x, const std::vector<int64_t>& shape, const std::string& name) {
    if (!inputs_ok({x}, name)) return nullptr;
    const Shape& xs = x->shape();
    std::vector<Dim> out;
    int infer = -1;
    for (size_t i = 0; i < shape.size(); ++i) {
        int64_t s = shape[i];
        if (s == 0) {
            if (!xs.rank_known() || i >= xs.rank())
                return fail("builder: Reshape '", name, "': 0 at position ", i, " has no input dim to copy");
            out.push_back(xs[i]);
        } else if (s == -1) {
            if (infer >= 0) return fail("builder: Reshape '", name, "': more than one -1");
            infer = static_cast<int>(i);
            out.emplace_back();
        } else if (s > 0) {
            out.emplace_back(s);
        } else {
            return fail("builder: Reshape '", name, "': bad target dim ", s);
        }
    }
    if (infer >= 0) {
        // Infer only when everything is static; a symbolic batch stays unknown.
        auto total = xs.numel();
        int64_t known = 1;
        bool all_static = true;
        for (size_t i = 0; i < out.size(); ++i)
            if (static_cast<int>(i) != infer) {
                if (out[i].is_static())
                    known *= out[i].value;
                else
                    all_static = false;
            }
        if (total && all_static && known > 0) {
            if (*total % known != 0)
                return fail("builder: Reshape '", name, "': cannot reshape ", xs.to_string(), " to ",
                            dims_to_string(shape));
            out[infer] = Dim(*total / known);
        }
    } else if (auto total = xs.numel()) {
        Shape o(out);
        if (o.numel() && *o.numel() != *total)
            return fail("builder: Reshape '", name, "': cannot reshape ", xs.to_string(), " to ",
                        dims_to_string(shape));
    }
    std::string node_name = g_.unique_node_name(name.empty() ? "Reshape" : name);
    Value* sv = int64s(node_name + ".shape", shape);
    Node* n = make("Reshape", {x, sv}, node_name);
    n->output(0)->set_dtype(x->dtype());
    n->output(0)->set_shape(Shape(std::move(out)));
    return n->output(0);
}

Value* Builder::softmax(Value* x, int64_t axis, const std::string& name) {
    Value* y = unary("Softmax", x, name);
    if (y) y->producer()->set_attr("axis", Attribute::from_int(axis));
    return y;
}

}  // namespace qat::ir
