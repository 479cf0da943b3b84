#include "passes/quant/strip_qdq.h"

#include <set>

namespace qat::passes::quant {

namespace {

bool is_operator_form(const std::string& op) {
    return op.rfind("QLinear", 0) == 0 || op == "ConvInteger" || op == "MatMulInteger" || op == "DynamicQuantizeLinear";
}

// (q - zp) * scale along `axis` for a constant of int8 / uint8 / int32.
Result<Tensor> dequantize_constant(const Tensor& q, const Tensor& scale, const Tensor* zp, int64_t axis) {
    if (scale.dtype() != DataType::kFloat32)
        return invalid_model("scale is ", dtype_name(scale.dtype()), ", not float32");
    Tensor out = Tensor::empty(DataType::kFloat32, q.dims());
    float* o = out.data<float>();
    int64_t channels = scale.numel();
    int64_t inner = 1, outer = 1;
    if (channels > 1) {
        int64_t r = static_cast<int64_t>(q.rank());
        int64_t a = axis < 0 ? axis + r : axis;
        if (a < 0 || a >= r || q.dim(a) != channels)
            return invalid_model("per-axis scale of ", channels, " entries does not match ", q.desc(), " on axis ",
                                 axis);
        for (int64_t i = 0; i < a; ++i) outer *= q.dim(i);
        for (int64_t i = a + 1; i < r; ++i) inner *= q.dim(i);
    } else {
        inner = q.numel();
    }
    for (int64_t o0 = 0; o0 < outer; ++o0)
        for (int64_t c = 0; c < channels; ++c) {
            double s = scale.get_as_double(c);
            double z = zp ? zp->get_as_double(c) : 0.0;
            int64_t base = (o0 * channels + c) * inner;
            for (int64_t i = 0; i < inner; ++i) o[base + i] = static_cast<float>((q.get_as_double(base + i) - z) * s);
        }
    return out;
}

std::string float_name(ir::Graph& g, const std::string& qname) {
    const std::string suffix = "_quantized";
    std::string n = qname;
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
        n = n.substr(0, n.size() - suffix.size());
    else
        n += "_float";
    return g.unique_value_name(n);
}

void remove_if_unused(ir::Graph& g, ir::Value* v) {
    if (!v || v->has_uses() || v->is_graph_output() || v->is_graph_input()) return;
    if (v->producer()) {
        if (v->producer()->op_type() == "Constant") g.remove_node(v->producer());
    } else {
        g.remove_value(v);
    }
}

}  // namespace

std::vector<const ir::Node*> find_quantization_nodes(const ir::Graph& graph) {
    std::vector<const ir::Node*> out;
    for (const ir::Node* n : graph.nodes()) {
        const std::string& op = n->op_type();
        if (op == "QuantizeLinear" || op == "DequantizeLinear" || is_operator_form(op)) out.push_back(n);
    }
    return out;
}

Result<bool> StripQdqPass::run(ir::Graph& g, PassContext& ctx) {
    for (const ir::Node* n : g.nodes())
        if (is_operator_form(n->op_type()))
            return unsupported(n->desc(), " is a pre-quantized operator; only QuantizeLinear/DequantizeLinear models ",
                               "can be re-quantized");
    bool changed = false;
    std::vector<ir::Node*> dqs;
    for (ir::Node* n : g.nodes())
        if (n->op_type() == "DequantizeLinear") dqs.push_back(n);
    std::set<ir::Value*> params;  // scales and zero points that may become dead
    for (ir::Node* dq : dqs) {
        ir::Value* x = dq->input(0);
        ir::Value* y = dq->output(0);
        ir::Value* replacement = nullptr;
        if (x && x->producer() && x->producer()->op_type() == "QuantizeLinear") {
            replacement = x->producer()->input(0);
        } else if (x && x->is_constant()) {
            const ir::Value* s = dq->input(1);
            const ir::Value* z = dq->input(2);
            if (!s || !s->is_constant() || (z && !z->is_constant()))
                return unsupported(dq->desc(), ": scale or zero point is not a constant; cannot strip it");
            auto f = dequantize_constant(x->constant(), s->constant(), z ? &z->constant() : nullptr,
                                         dq->attr_int("axis", 1));
            if (!f.ok()) return std::move(f).take_status().with_context("while stripping " + dq->desc());
            replacement = g.add_initializer(float_name(g, x->name()), std::move(*f));
        } else {
            return unsupported(dq->desc(), ": its input '", x ? x->name() : "", "' is neither a QuantizeLinear output ",
                               "nor a constant; cannot strip it");
        }
        g.replace_all_uses_with(y, replacement);
        for (size_t i = 0; i < dq->num_inputs(); ++i)
            if (dq->input(i)) params.insert(dq->input(i));
        g.remove_node(dq);
        changed = true;
        ctx.note_rewrite(name(), "removed DequantizeLinear of " + (x ? x->name() : std::string("?")));
    }
    std::vector<ir::Node*> qs;
    for (ir::Node* n : g.nodes())
        if (n->op_type() == "QuantizeLinear") qs.push_back(n);
    for (ir::Node* q : qs) {
        ir::Value* y = q->output(0);
        if (y->is_graph_output() || y->has_uses())
            return unsupported(q->desc(), ": its int8 output '", y->name(),
                               "' is read without a DequantizeLinear (or is a graph output); cannot strip it");
        for (size_t i = 0; i < q->num_inputs(); ++i)
            if (q->input(i)) params.insert(q->input(i));
        g.remove_node(q);
        changed = true;
    }
    // Scales, zero points and int8 weights left without readers.
    std::vector<ir::Value*> dead(params.begin(), params.end());
    for (ir::Value* v : dead) remove_if_unused(g, v);
    auto& md = g.info().metadata_props;
    for (auto it = md.begin(); it != md.end();) it = it->first == kUncalibratedKey ? md.erase(it) : std::next(it);
    return changed;
}

}  // namespace qat::passes::quant
