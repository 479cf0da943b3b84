#include "passes/qdq_actions.h"

#include "passes/qdq_util.h"

namespace qat::passes {
namespace {

namespace fused = ir::fused;

const char* fused_op_type(const FusionGroup& g) {
    switch (g.kind) {
        case FusionKind::kBinary:
            return g.op->op_type() == "Mul" ? fused::kQMul : fused::kQAdd;
        case FusionKind::kPool:
            return g.op->op_type() == "GlobalAveragePool" ? fused::kQGlobalAveragePool : fused::kQAveragePool;
        case FusionKind::kFp32Conv:
            return fused::kFusedConv;
        case FusionKind::kWeighted:
            if (g.op->op_type() == "Conv") return fused::kQConv;
            if (g.op->op_type() == "ConvTranspose") return fused::kQConvTranspose;
            return fused::kQGemm;
    }
    return "";
}

// Attributes of the original op that the fused op keeps (window geometry, pooling options).
void copy_op_attrs(const ir::Node& from, ir::Node* to) {
    static const char* kKeep[] = {"kernel_shape", "strides",        "pads",         "dilations", "group",
                                  "auto_pad",     "output_padding", "output_shape", "ceil_mode", "count_include_pad"};
    for (const char* k : kKeep)
        if (const ir::Attribute* a = from.attr(k)) to->set_attr(k, *a);
}

}  // namespace

Result<ir::Node*> emit_fused(ir::Graph& g, const FusionGroup& grp) {
    const bool fp32 = grp.kind == FusionKind::kFp32Conv;
    if (!grp.op || (!grp.dq_x && !fp32) || !grp.last) return internal_error("emit_fused: incomplete fusion group");
    const char* op_type = fused_op_type(grp);
    const bool weighted = grp.kind == FusionKind::kWeighted;

    // Inputs: x (a), then b, or the weight, bias and residual. FusedConv keeps the Conv's own
    // float weight and bias; the INT8 ops take the int8 weight behind its DQ and the folded bias.
    std::vector<ir::Value*> ins{fp32 ? grp.op->input(0) : grp.dq_x->input(0)};
    if (grp.kind == FusionKind::kBinary) ins.push_back(grp.dq_b->input(0));
    if (weighted || fp32) {
        ir::Value* bias = fp32 ? grp.op->input(2) : nullptr;
        if (!fp32 && !grp.bias.empty()) {
            const int64_t n = static_cast<int64_t>(grp.bias.size());
            bias = add_constant(g, (grp.op->name().empty() ? std::string("fused") : grp.op->name()) + ".bias",
                                Tensor::from_vector<float>({n}, grp.bias));
        }
        ins.push_back(fp32 ? grp.op->input(1) : grp.dq_w->input(0));
        ins.push_back(bias);
        if (grp.residual) ins.push_back(grp.residual);
        while (!ins.empty() && !ins.back()) ins.pop_back();  // no trailing omitted inputs
    }
    const DataType out_dtype = grp.q_out ? grp.y_params.qtype : DataType::kFloat32;
    const std::string node_name = grp.op->name();
    ir::Node* f = g.add_node(op_type, ins, {grp.last->name() + ".fused"},
                             g.unique_node_name(node_name.empty() ? op_type : node_name + ".fused"), fused::kDomain);
    copy_op_attrs(*grp.op, f);
    const bool binary = grp.kind == FusionKind::kBinary;
    if (fp32) {
        f->doc_string = grp.op->doc_string;  // why it stayed FP32, folded BN (qat explain)
    } else {
        f->set_attr(binary ? "a_scale" : "x_scale", ir::Attribute::from_float(grp.x_params.scale[0]));
        f->set_attr(binary ? "a_zero_point" : "x_zero_point", ir::Attribute::from_int(grp.x_params.zero_point[0]));
    }
    if (binary) {
        f->set_attr("b_scale", ir::Attribute::from_float(grp.b_params.scale[0]));
        f->set_attr("b_zero_point", ir::Attribute::from_int(grp.b_params.zero_point[0]));
    }
    if (weighted) {
        f->set_attr("w_scales", ir::Attribute::from_floats(grp.w_scales));
        if (grp.op->op_type() == "Gemm" || grp.op->op_type() == "MatMul")
            f->set_attr("trans_b", ir::Attribute::from_int(grp.trans_b ? 1 : 0));
    }
    if (!fp32) f->set_attr("out_dtype", ir::Attribute::from_int(fused::data_type_to_out_dtype(out_dtype)));
    if (grp.q_out) {
        f->set_attr("y_scale", ir::Attribute::from_float(grp.y_params.scale[0]));
        f->set_attr("y_zero_point", ir::Attribute::from_int(grp.y_params.zero_point[0]));
    }
    if (!grp.post_ops.empty()) {
        std::vector<std::string> names;
        for (auto p : grp.post_ops) names.push_back(fused::post_op_name(p));
        f->set_attr("post_ops", ir::Attribute::from_strings(names));
    }
    for (auto p : grp.post_ops) {
        if (p == fused::PostOp::kClip) {
            f->set_attr("clip_min", ir::Attribute::from_float(grp.clip_min));
            f->set_attr("clip_max", ir::Attribute::from_float(grp.clip_max));
        } else if (p == fused::PostOp::kLeakyRelu) {
            f->set_attr("alpha", ir::Attribute::from_float(grp.alpha));
        }
    }
    if (grp.residual_dq) {
        f->set_attr("residual_scale", ir::Attribute::from_float(grp.residual_params.scale[0]));
        f->set_attr("residual_zero_point", ir::Attribute::from_int(grp.residual_params.zero_point[0]));
    }
    std::vector<std::string> absorbed;
    for (const ir::Node* n : grp.absorbed) {
        absorbed.push_back(n->name().empty() ? n->op_type() : n->name());
        if (n == grp.op)
            for (const std::string& f : folded_names(*n)) absorbed.push_back(f);  // e.g. the folded BN
    }
    f->set_attr("absorbed", ir::Attribute::from_strings(absorbed));
    if (!grp.note.empty()) f->set_attr("note", ir::Attribute::from_string(grp.note));

    ir::Value* out = f->output(0);
    out->set_dtype(out_dtype);
    out->set_shape(grp.last->shape());

    // Validate before rewiring: a bad scale gives a clear error and leaves the graph as it was.
    auto info = fused::read_fused_op(*f);
    if (!info.ok()) {
        g.remove_node(f);
        return std::move(info).take_status();
    }
    replace_value(g, grp.last, out);
    remove_if_dead(g, grp.absorbed);
    if (!node_name.empty() && !g.find_node(node_name)) f->set_name(node_name);
    return f;
}

}  // namespace qat::passes
