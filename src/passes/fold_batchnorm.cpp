#include "passes/fold_batchnorm.h"

#include <cmath>

#include "passes/qdq_util.h"

namespace qat::passes {
namespace {

// Match layout: {bn, conv} or {bn, conv, dq_w}.
class FoldBatchNormRule : public RewriteRule {
  public:
    std::string name() const override { return "fold-batchnorm"; }

    bool match(const ir::Graph&, ir::Node& bn, Match& m) const override {
        if (!is_op(&bn, "BatchNormalization")) return false;
        if (bn.attr_int("training_mode", 0) != 0) return false;
        for (size_t i = 1; i < bn.num_outputs(); ++i)
            if (bn.output(i) && (bn.output(i)->has_uses() || bn.output(i)->is_graph_output())) return false;
        ir::Node* conv = producer_of(bn, 0);
        if (!is_op(conv, "Conv") || sole_consumer(conv->output(0)) != &bn) return false;
        const ir::Value* w = conv->input(1);
        if (!w) return false;
        int64_t m_out = -1;
        ir::Node* dq = nullptr;
        if (w->is_constant()) {
            if (w->constant().dtype() != DataType::kFloat32 || w->constant().rank() < 3) return false;
            m_out = w->constant().dim(0);
        } else {
            dq = w->producer();
            if (!is_dq(dq) || sole_consumer(dq->output(0)) != conv) return false;
            const ir::Value* wq = dq->input(0);
            if (!wq || !wq->is_constant() || !is_quantized_type(wq->constant().dtype())) return false;
            if (wq->constant().rank() < 3) return false;
            m_out = wq->constant().dim(0);
            QuantParams p;
            if (!const_qdq_params(*dq, &p)) return false;
            if (!p.per_tensor() && (p.axis != 0 || static_cast<int64_t>(p.channels()) != m_out)) return false;
        }
        if (const ir::Value* b = conv->input(2)) {
            if (!b->is_constant() || b->constant().dtype() != DataType::kFloat32 || b->constant().numel() != m_out)
                return false;
        }
        for (size_t i = 1; i <= 4; ++i) {
            const ir::Value* p = bn.input(i);
            if (!p || !p->is_constant() || p->constant().dtype() != DataType::kFloat32 ||
                p->constant().numel() != m_out)
                return false;
        }
        for (double v : factors(bn))
            if (!std::isfinite(v)) return false;
        if (dq && !negations_fit(bn, *dq, m_out)) return false;
        m.nodes = {&bn, conv};
        if (dq) m.nodes.push_back(dq);
        return true;
    }

    Result<std::string> apply(ir::Graph& g, const Match& m) override {
        ir::Node* bn = m.nodes[0];
        ir::Node* conv = m.nodes[1];
        ir::Node* dq = m.nodes.size() > 2 ? m.nodes[2] : nullptr;
        const std::vector<double> f = factors(*bn);
        const int64_t mc = static_cast<int64_t>(f.size());
        const std::vector<float> mean = bn->input(3)->constant().to_vector<float>();
        const std::vector<float> beta = bn->input(2)->constant().to_vector<float>();

        std::vector<float> bias(static_cast<size_t>(mc), 0.0f);
        if (const ir::Value* b = conv->input(2)) bias = b->constant().to_vector<float>();
        Tensor new_b = Tensor::empty(DataType::kFloat32, {mc});
        for (int64_t c = 0; c < mc; ++c)
            new_b.data<float>()[c] =
                static_cast<float>((static_cast<double>(bias[c]) - mean[c]) * f[c] + static_cast<double>(beta[c]));

        if (!dq) {
            const Tensor& w = conv->input(1)->constant();
            Tensor nw = Tensor::empty(DataType::kFloat32, w.dims());
            const int64_t per = w.numel() / mc;
            for (int64_t c = 0; c < mc; ++c)
                for (int64_t i = 0; i < per; ++i)
                    nw.data<float>()[c * per + i] =
                        static_cast<float>(static_cast<double>(w.data<float>()[c * per + i]) * f[c]);
            g.set_input(conv, 1, add_constant(g, conv->input(1)->name() + ".bnfold", nw));
        } else {
            QuantParams p;
            const_qdq_params(*dq, &p);
            const Tensor& wq = dq->input(0)->constant();
            Tensor nwq = wq.clone();
            const int64_t per = wq.numel() / mc;
            Tensor scale = Tensor::empty(DataType::kFloat32, {mc});
            Tensor zp = Tensor::zeros(p.qtype, {mc});
            for (int64_t c = 0; c < mc; ++c) {
                const size_t pc = p.per_tensor() ? 0 : static_cast<size_t>(c);
                const float s = p.scale[pc];
                const int32_t z = p.zero_point[pc];
                zp.set_from_double(c, z);
                if (f[c] == 0.0) {
                    // A dead channel: weights at the zero point dequantize to exactly 0.
                    for (int64_t i = 0; i < per; ++i) nwq.set_from_double(c * per + i, z);
                    scale.data<float>()[c] = s;
                    continue;
                }
                scale.data<float>()[c] = static_cast<float>(static_cast<double>(s) * std::fabs(f[c]));
                if (f[c] < 0.0)
                    for (int64_t i = 0; i < per; ++i) nwq.set_from_double(c * per + i, -wq.get_as_double(c * per + i));
            }
            g.set_input(dq, 0, add_constant(g, dq->input(0)->name() + ".bnfold", nwq));
            g.set_input(dq, 1, add_constant(g, dq->input(0)->name() + ".bnfold_scale", scale));
            g.set_input(dq, 2, add_constant(g, dq->input(0)->name() + ".bnfold_zero_point", zp));
            dq->set_attr("axis", ir::Attribute::from_int(0));
        }
        g.set_input(conv, 2,
                    add_constant(g, conv->name().empty() ? "bias.bnfold" : conv->name() + ".bias.bnfold", new_b));
        const std::string desc = bn->desc() + " into " + conv->desc();
        add_folded_name(*conv, bn->name().empty() ? bn->op_type() : bn->name());
        replace_value(g, bn->output(0), conv->output(0));
        remove_if_dead(g, {bn});
        g.remove_dead_code();
        return desc;
    }

  private:
    static std::vector<double> factors(const ir::Node& bn) {
        const std::vector<float> gamma = bn.input(1)->constant().to_vector<float>();
        const std::vector<float> var = bn.input(4)->constant().to_vector<float>();
        const double eps = bn.attr_float("epsilon", 1e-5f);
        std::vector<double> f(gamma.size());
        for (size_t c = 0; c < gamma.size(); ++c) f[c] = gamma[c] / std::sqrt(static_cast<double>(var[c]) + eps);
        return f;
    }

    // Negative factors flip the sign of a channel's int8 weights: needs zero point 0 and no
    // value whose negation leaves the type's range.
    static bool negations_fit(const ir::Node& bn, const ir::Node& dq, int64_t mc) {
        const std::vector<double> f = factors(bn);
        QuantParams p;
        if (!const_qdq_params(dq, &p)) return false;
        const Tensor& wq = dq.input(0)->constant();
        const int64_t per = wq.numel() / mc;
        for (int64_t c = 0; c < mc; ++c) {
            if (f[c] >= 0.0) continue;
            const size_t pc = p.per_tensor() ? 0 : static_cast<size_t>(c);
            if (p.zero_point[pc] != 0 || wq.dtype() != DataType::kInt8) return false;
            for (int64_t i = 0; i < per; ++i)
                if (wq.get_as_double(c * per + i) == -128.0) return false;
        }
        return true;
    }
};

}  // namespace

std::unique_ptr<RewriteRule> make_fold_batchnorm_rule() { return std::make_unique<FoldBatchNormRule>(); }

std::unique_ptr<Pass> make_fold_batchnorm_pass() {
    std::vector<std::unique_ptr<RewriteRule>> rules;
    rules.push_back(make_fold_batchnorm_rule());
    return std::make_unique<RuleSetPass>("fold-batchnorm", std::move(rules));
}

}  // namespace qat::passes
