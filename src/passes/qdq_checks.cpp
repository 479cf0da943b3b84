#include "passes/qdq_checks.h"

#include <cmath>
#include <sstream>

#include "passes/qdq_util.h"

namespace qat::passes {

Status check_qdq_params(const ir::Graph& graph) {
    for (const ir::Node* n : graph.nodes()) {
        if (!is_q(n) && !is_dq(n)) continue;
        const ir::Value* s = n->input(1);
        if (!s) return invalid_model(n->desc(), ": missing scale input");
        if (!s->is_constant()) continue;  // checked by the kernel when the model runs
        const Tensor& st = s->constant();
        if (st.dtype() != DataType::kFloat32)
            return invalid_model(n->desc(), ": scale '", s->name(), "' has dtype ", dtype_name(st.dtype()),
                                 ", expected f32");
        if (st.rank() > 1)
            return invalid_model(n->desc(), ": scale '", s->name(), "' has shape ", dims_to_string(st.dims()),
                                 ", expected a scalar or 1-D");
        if (st.numel() == 0) return invalid_model(n->desc(), ": scale '", s->name(), "' is empty");
        for (int64_t i = 0; i < st.numel(); ++i) {
            const float v = st.data<float>()[i];
            if (!std::isfinite(v) || !(v > 0.0f)) {
                std::ostringstream idx;
                if (st.numel() > 1) idx << "[" << i << "]";
                return invalid_model(n->desc(), ": scale '", s->name(), "'", idx.str(), " = ", v,
                                     " (quantization scales must be finite and > 0)");
            }
        }
        if (const ir::Value* z = n->input(2); z && z->is_constant()) {
            const Tensor& zt = z->constant();
            if (zt.numel() != st.numel())
                return invalid_model(n->desc(), ": zero point '", z->name(), "' has ", zt.numel(),
                                     " values, the scale has ", st.numel());
        }
        if (st.numel() > 1 || st.rank() == 1) {
            const ir::Value* x = n->input(0);
            if (!x || !x->shape().rank_known()) continue;
            const int64_t rank = static_cast<int64_t>(x->shape().rank());
            int64_t axis = n->attr_int("axis", 1);
            if (st.numel() == 1 && st.rank() == 1) continue;  // a one-element 1-D scale acts per tensor
            if (axis < -rank || axis >= rank)
                return invalid_model(n->desc(), ": axis ", axis, " is outside the rank ", rank, " of its input '",
                                     x->name(), "'");
            if (axis < 0) axis += rank;
            const Dim& d = x->shape()[static_cast<size_t>(axis)];
            if (d.is_static() && d.value != st.numel())
                return invalid_model(n->desc(), ": per-channel scale '", s->name(), "' has ", st.numel(),
                                     " values but input '", x->name(), "' has ", d.value, " channels along axis ", axis,
                                     " (shape ", x->shape().to_string(), ")");
        }
    }
    return OkStatus();
}

}  // namespace qat::passes
