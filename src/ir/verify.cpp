#include "ir/verify.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "ir/fused_ops.h"

namespace qat::ir {

namespace {

std::string node_desc(const Node& n) {
    std::string d = n.desc();
    if (n.name().empty() && n.num_outputs() > 0 && n.output(0)) d += " (output '" + n.output(0)->name() + "')";
    return d;
}

std::string type_str(const Value& v) { return std::string(dtype_name(v.dtype())) + v.shape().to_string(); }

bool is_onnx_domain(const Node& n) { return n.domain().empty() || n.domain() == "ai.onnx"; }

// Ops whose ONNX type constraint ties some inputs and outputs to one type T. -1 means "all".
struct TieRule {
    std::vector<int> inputs;
    std::vector<int> outputs;
};

const std::unordered_map<std::string, TieRule>& tie_rules() {
    static const std::unordered_map<std::string, TieRule> rules = [] {
        std::unordered_map<std::string, TieRule> r;
        for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "Concat", "PRelu", "MatMul",
                               "Gemm", "Conv", "ConvTranspose", "Clip"})
            r[op] = {{-1}, {0}};
        for (const char* op : {"Relu",
                               "LeakyRelu",
                               "Sigmoid",
                               "HardSigmoid",
                               "HardSwish",
                               "Tanh",
                               "Exp",
                               "Log",
                               "Sqrt",
                               "Abs",
                               "Neg",
                               "Floor",
                               "Ceil",
                               "Reciprocal",
                               "Erf",
                               "Softmax",
                               "LogSoftmax",
                               "Identity",
                               "Flatten",
                               "Reshape",
                               "Transpose",
                               "Squeeze",
                               "Unsqueeze",
                               "AveragePool",
                               "GlobalAveragePool",
                               "GlobalMaxPool",
                               "Slice",
                               "Gather",
                               "Pad",
                               "Resize",
                               "ReduceMean",
                               "ReduceMax",
                               "ReduceMin",
                               "ReduceSum",
                               "Tile",
                               "Expand",
                               "LRN",
                               "InstanceNormalization",
                               "Elu",
                               "Selu",
                               "Softplus",
                               "Mish"})
            r[op] = {{0}, {-1}};
        // Outputs with their own types (indices, masks, running stats) are left out.
        for (const char* op : {"MaxPool", "Dropout", "BatchNormalization"}) r[op] = {{0}, {0}};
        r["Split"] = {{0}, {-1}};
        return r;
    }();
    return rules;
}

class Verifier {
  public:
    explicit Verifier(const Graph& g) : g_(g) {}

    std::vector<std::string> run() {
        for (Value* v : g_.values()) values_.insert(v);
        for (Node* n : g_.nodes()) nodes_.insert(n);
        check_values();
        check_io();
        for (Node* n : g_.nodes()) check_node_links(*n);
        // topo_order() trusts the links; only ask it when they are sound.
        if (errors_.empty()) {
            auto order = g_.topo_order();
            if (!order.ok()) add(order.status().message());
        }
        if (errors_.empty())
            for (Node* n : g_.nodes()) check_node_types(*n);
        return std::move(errors_);
    }

  private:
    template <typename... Args>
    void add(Args&&... args) {
        errors_.push_back(detail::str_cat(std::forward<Args>(args)...));
    }
    template <typename... Args>
    void add_node(const Node& n, Args&&... args) {
        errors_.push_back(detail::str_cat(node_desc(n), ": ", std::forward<Args>(args)...));
    }

    void check_values() {
        std::unordered_set<std::string> names;
        for (Value* v : g_.values()) {
            if (v->name().empty()) add("a value has an empty name");
            if (!names.insert(v->name()).second) add("value name '", v->name(), "' is used twice");
            if (g_.find_value(v->name()) != v) add("value '", v->name(), "' is not registered under its name");
            // Use-list entries must point at real nodes that read this value at that index.
            std::vector<Use> seen;
            for (const Use& u : v->uses()) {
                if (!u.node || !nodes_.count(u.node)) {
                    add("value '", v->name(), "' has a use by a node that is not in the graph");
                    continue;
                }
                if (u.index < 0 || static_cast<size_t>(u.index) >= u.node->num_inputs() || u.node->input(u.index) != v)
                    add("value '", v->name(), "' lists a use by ", node_desc(*u.node), " input ", u.index,
                        " that does not read it");
                if (std::find(seen.begin(), seen.end(), u) != seen.end())
                    add("value '", v->name(), "' lists its use by ", node_desc(*u.node), " input ", u.index, " twice");
                seen.push_back(u);
            }
            if (Node* p = v->producer()) {
                if (!nodes_.count(p)) {
                    add("value '", v->name(), "' has a producer that is not in the graph");
                } else if (v->producer_index() < 0 || static_cast<size_t>(v->producer_index()) >= p->num_outputs() ||
                           p->output(v->producer_index()) != v) {
                    add("value '", v->name(), "' names ", node_desc(*p), " output ", v->producer_index(),
                        " as its producer, but that node does not produce it");
                }
                if (v->is_graph_input())
                    add("value '", v->name(), "' is a graph input and the output of ", node_desc(*p));
            }
            if (v->is_constant()) {
                const Tensor& t = v->constant();
                if (v->dtype() != t.dtype() || v->shape() != t.shape())
                    add("value '", v->name(), "' is declared ", type_str(*v), " but its payload is ", t.desc());
            }
        }
    }

    void check_io() {
        std::unordered_set<const Value*> ins, outs;
        for (Value* v : g_.inputs()) {
            if (!values_.count(v)) {
                add("a graph input is not a value of this graph");
                continue;
            }
            if (!ins.insert(v).second) add("graph input '", v->name(), "' is listed twice");
            if (!v->is_graph_input()) add("graph input '", v->name(), "' is not flagged as an input");
        }
        for (Value* v : g_.outputs()) {
            if (!values_.count(v)) {
                add("a graph output is not a value of this graph");
                continue;
            }
            outs.insert(v);
            if (!v->is_graph_output()) add("graph output '", v->name(), "' is not flagged as an output");
            if (!v->producer() && !v->is_graph_input() && !v->is_constant())
                add("graph output '", v->name(), "' is not a graph input, an initializer or a node output");
        }
        for (Value* v : g_.values()) {
            if (v->is_graph_input() && !ins.count(v))
                add("value '", v->name(), "' is flagged as a graph input but is not in the input list");
            if (v->is_graph_output() && !outs.count(v))
                add("value '", v->name(), "' is flagged as a graph output but is not in the output list");
        }
    }

    void check_node_links(const Node& n) {
        if (n.graph() != &g_) add_node(n, "belongs to another graph");
        for (size_t i = 0; i < n.num_inputs(); ++i) {
            const Value* v = n.input(i);
            if (!v) continue;
            if (!values_.count(v)) {
                add_node(n, "input ", i, " is not a value of this graph");
                continue;
            }
            if (!v->producer() && !v->is_graph_input() && !v->is_constant())
                add_node(n, "input ", i, " '", v->name(), "' is not a graph input, an initializer or a node output");
            size_t count =
                std::count(v->uses().begin(), v->uses().end(), Use{const_cast<Node*>(&n), static_cast<int>(i)});
            if (count != 1)
                add_node(n, "input ", i, " reads '", v->name(), "' but its use-list holds this use ", count, " times");
        }
        for (size_t j = 0; j < n.num_outputs(); ++j) {
            const Value* v = n.output(j);
            if (!v) {
                add_node(n, "output ", j, " is null");
                continue;
            }
            if (!values_.count(v)) {
                add_node(n, "output ", j, " is not a value of this graph");
                continue;
            }
            if (v->producer() != &n || v->producer_index() != static_cast<int>(j))
                add_node(n, "output ", j, " '", v->name(), "' does not name this node as its producer");
        }
    }

    void check_node_types(const Node& n) {
        if (fused::is_fused_op(n) || fused::is_fp32_fused_op(n)) {
            check_fused(n);
            return;
        }
        if (!is_onnx_domain(n)) return;
        const std::string& op = n.op_type();
        if (op == "QuantizeLinear" || op == "DequantizeLinear") {
            check_qdq(n, op == "QuantizeLinear");
            return;
        }
        auto it = tie_rules().find(op);
        if (it != tie_rules().end()) check_tied(n, it->second);
        if (op == "Conv") check_conv(n);
    }

    // qat's fused int8 ops (ir/fused_ops.h): attributes valid, output dtype as out_dtype says.
    void check_fused(const Node& n) {
        auto info = fused::read_fused_op(n);
        if (!info.ok()) {
            add(info.status().message());
            return;
        }
        const Value* y = n.output(0);
        if (y && y->dtype() != DataType::kUndefined && y->dtype() != info->out_dtype)
            add_node(n, "output '", y->name(), "' is ", dtype_name(y->dtype()), " but out_dtype says ",
                     dtype_name(info->out_dtype));
    }

    void check_tied(const Node& n, const TieRule& r) {
        std::vector<std::pair<std::string, const Value*>> tied;
        auto collect = [&](const std::vector<int>& idx, bool outputs) {
            size_t count = outputs ? n.num_outputs() : n.num_inputs();
            auto get = [&](size_t i) { return outputs ? n.output(i) : n.input(i); };
            auto push = [&](size_t i) {
                const Value* v = get(i);
                if (v && v->dtype() != DataType::kUndefined)
                    tied.push_back({std::string(outputs ? "output " : "input ") + std::to_string(i), v});
            };
            for (int k : idx) {
                if (k < 0) {
                    for (size_t i = 0; i < count; ++i) push(i);
                } else if (static_cast<size_t>(k) < count) {
                    push(static_cast<size_t>(k));
                }
            }
        };
        collect(r.inputs, false);
        collect(r.outputs, true);
        for (size_t i = 1; i < tied.size(); ++i)
            if (tied[i].second->dtype() != tied[0].second->dtype()) {
                add_node(n, tied[i].first, " '", tied[i].second->name(), "' has dtype ",
                         dtype_name(tied[i].second->dtype()), " but ", tied[0].first, " '", tied[0].second->name(),
                         "' has ", dtype_name(tied[0].second->dtype()), " (the op needs one type)");
                return;
            }
    }

    void check_conv(const Node& n) {
        const Value* x = n.input(0);
        const Value* w = n.input(1);
        const Value* b = n.input(2);
        if (!x || !w) {
            add_node(n, "needs inputs X and W");
            return;
        }
        const Shape& xs = x->shape();
        const Shape& ws = w->shape();
        if (xs.rank_known() && ws.rank_known() && xs.rank() != ws.rank())
            add_node(n, "input '", x->name(), "' is ", xs.rank(), "-D but weight '", w->name(), "' is ", ws.rank(),
                     "-D");
        int64_t group = n.attr_int("group", 1);
        if (group < 1) add_node(n, "group must be >= 1, got ", group);
        if (xs.rank_known() && ws.rank_known() && xs.rank() >= 2 && ws.rank() >= 2 && xs[1].is_static() &&
            ws[1].is_static() && group >= 1 && xs[1].value != ws[1].value * group)
            add_node(n, "input has ", xs[1].value, " channels but weight '", w->name(), "' ", ws.to_string(),
                     " with group ", group, " expects ", ws[1].value * group);
        if (ws.rank_known() && ws.rank() >= 1 && ws[0].is_static() && group >= 1 && ws[0].value % group != 0)
            add_node(n, "weight '", w->name(), "' has ", ws[0].value, " output channels, not a multiple of group ",
                     group);
        if (b && b->shape().rank_known()) {
            const Shape& bs = b->shape();
            if (bs.rank() != 1)
                add_node(n, "bias '", b->name(), "' must be 1-D, got ", bs.to_string());
            else if (ws.rank_known() && ws.rank() >= 1 && ws[0].is_static() && bs[0].is_static() &&
                     bs[0].value != ws[0].value)
                add_node(n, "bias '", b->name(), "' has ", bs[0].value, " entries but the weight has ", ws[0].value,
                         " output channels");
        }
    }

    void check_qdq(const Node& n, bool is_q) {
        const char* scale_name = is_q ? "y_scale" : "x_scale";
        const char* zp_name = is_q ? "y_zero_point" : "x_zero_point";
        if (n.num_inputs() < 2 || n.num_inputs() > 3 || !n.input(0) || !n.input(1)) {
            add_node(n, "needs 2 or 3 inputs (x, ", scale_name, ", optional ", zp_name, "), got ", n.num_inputs());
            return;
        }
        if (n.num_outputs() != 1) {
            add_node(n, "needs exactly 1 output, got ", n.num_outputs());
            return;
        }
        const Value* x = n.input(0);
        const Value* scale = n.input(1);
        const Value* zp = n.input(2);
        const Value* y = n.output(0);

        if (scale->dtype() != DataType::kUndefined && !is_float(scale->dtype()))
            add_node(n, scale_name, " '", scale->name(), "' must be float, got ", dtype_name(scale->dtype()));
        const Shape& ss = scale->shape();
        if (ss.rank_known() && ss.rank() > 1)
            add_node(n, scale_name, " '", scale->name(), "' must be a scalar or 1-D, got ", ss.to_string());
        if (scale->is_constant() && is_float(scale->dtype()) && scale->dtype() != DataType::kFloat16) {
            const Tensor& t = scale->constant();
            for (int64_t i = 0; i < t.numel(); ++i) {
                double s = t.get_as_double(i);
                if (!(std::isfinite(s) && s > 0)) {
                    add_node(n, scale_name, " '", scale->name(), "' must be positive and finite, element ", i, " is ",
                             s);
                    break;
                }
            }
        }

        DataType qtype = is_q ? y->dtype() : x->dtype();  // the integer side
        if (zp) {
            DataType zt = zp->dtype();
            bool ok_type = zt == DataType::kUndefined || is_quantized_type(zt) || (!is_q && zt == DataType::kInt32);
            if (!ok_type)
                add_node(n, zp_name, " '", zp->name(), "' must be int8 or uint8",
                         is_q ? "" : " (int32 for int32 input)", ", got ", dtype_name(zt));
            const Shape& zs = zp->shape();
            if (ss.rank_known() && zs.rank_known() && ss != zs)
                add_node(n, zp_name, " '", zp->name(), "' has shape ", zs.to_string(), " but ", scale_name, " '",
                         scale->name(), "' has ", ss.to_string());
            if (zt != DataType::kUndefined && qtype != DataType::kUndefined && zt != qtype)
                add_node(n, is_q ? "output '" : "input '", is_q ? y->name() : x->name(), "' is ", dtype_name(qtype),
                         " but ", zp_name, " '", zp->name(), "' is ", dtype_name(zt));
        } else if (is_q && qtype != DataType::kUndefined && qtype != DataType::kUint8) {
            add_node(n, "output '", y->name(), "' is ", dtype_name(qtype),
                     " but without a zero point QuantizeLinear produces uint8");
        }
        if (is_q) {
            if (x->dtype() != DataType::kUndefined && !is_float(x->dtype()) && x->dtype() != DataType::kInt32)
                add_node(n, "input '", x->name(), "' must be float or int32, got ", dtype_name(x->dtype()));
            if (qtype != DataType::kUndefined && !is_quantized_type(qtype))
                add_node(n, "output '", y->name(), "' must be int8 or uint8, got ", dtype_name(qtype));
        } else {
            if (qtype != DataType::kUndefined && !is_quantized_type(qtype) && qtype != DataType::kInt32)
                add_node(n, "input '", x->name(), "' must be int8, uint8 or int32, got ", dtype_name(qtype));
            if (y->dtype() != DataType::kUndefined && !is_float(y->dtype()))
                add_node(n, "output '", y->name(), "' must be float, got ", dtype_name(y->dtype()));
        }

        // Per-axis: a 1-D scale of length L > 1 quantizes slices along `axis` (1-element 1-D
        // scales are per-tensor, as ONNX Runtime treats them).
        if (ss.rank_known() && ss.rank() == 1) {
            const Shape& xs = x->shape();
            int64_t axis = n.attr_int("axis", 1);
            if (xs.rank_known()) {
                int64_t r = static_cast<int64_t>(xs.rank());
                int64_t a = axis < 0 ? axis + r : axis;
                bool per_axis = !ss[0].is_static() || ss[0].value != 1;
                if (per_axis && (a < 0 || a >= r)) {
                    add_node(n, "axis ", axis, " is out of range for input '", x->name(), "' of rank ", r);
                } else if (per_axis && ss[0].is_static() && xs[a].is_static() && ss[0].value != xs[a].value) {
                    add_node(n, scale_name, " '", scale->name(), "' has ", ss[0].value, " entries but input '",
                             x->name(), "' ", xs.to_string(), " has ", xs[a].value, " along axis ", axis);
                }
            }
        }
    }

    const Graph& g_;
    std::unordered_set<const Value*> values_;
    std::unordered_set<const Node*> nodes_;
    std::vector<std::string> errors_;
};

}  // namespace

std::vector<std::string> verify_all(const Graph& g) { return Verifier(g).run(); }

Status verify(const Graph& g) {
    std::vector<std::string> errors = verify_all(g);
    if (errors.empty()) return OkStatus();
    std::string msg = "verify: " + errors.front();
    if (errors.size() > 1) msg += " (and " + std::to_string(errors.size() - 1) + " more problems)";
    return invalid_model(msg);
}

}  // namespace qat::ir
