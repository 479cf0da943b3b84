#include "passes/quant/pattern_util.h"

#include <algorithm>
#include <set>

namespace qat::passes::quant {

bool is_weighted_op(const std::string& op) {
    return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

bool is_fusable_activation(const std::string& op) {
    static const std::set<std::string> kOps = {"Relu",        "Clip",    "LeakyRelu", "HardSwish",
                                               "HardSigmoid", "Sigmoid", "Tanh"};
    return kOps.count(op) > 0;
}

bool commutes_with_quantization(const std::string& op) {
    static const std::set<std::string> kOps = {"MaxPool",   "Reshape", "Flatten", "Transpose", "Squeeze",
                                               "Unsqueeze", "Slice",   "Split",   "Gather",    "Identity",
                                               "Dropout",   "Concat",  "Tile",    "Expand"};
    return kOps.count(op) > 0;
}

bool is_quantizable_tensor(const ir::Value* v, bool assume_float) {
    if (!v) return false;
    if (v->dtype() == DataType::kFloat32) return true;
    return v->dtype() == DataType::kUndefined && assume_float;
}

bool is_swish_mul(const ir::Node& mul) {
    if (mul.op_type() != "Mul" || mul.num_inputs() != 2) return false;
    for (int i = 0; i < 2; ++i) {
        const ir::Value* a = mul.input(i);
        const ir::Value* s = mul.input(1 - i);
        if (!a || !s || !s->producer()) continue;
        const ir::Node* sig = s->producer();
        if (sig->op_type() == "Sigmoid" && sig->input(0) == a) return true;
    }
    return false;
}

namespace {

bool single_reader(const ir::Value& v) { return v.uses().size() == 1 && !v.is_graph_output(); }

}  // namespace

ConvBranch conv_branch(const ir::Value& v, bool require_single_use) {
    ConvBranch out;
    if (require_single_use && !single_reader(v)) return out;
    // Walk back: [Dropout/Identity]* -> [activation] -> [BatchNormalization] -> weighted op.
    // `stage` only moves forward so the order is the fusable one (no BN after an activation).
    enum Stage { kTail = 0, kAct = 1, kBn = 2 };
    int stage = kTail;
    const ir::Value* cur = &v;
    std::vector<const ir::Node*> rev;
    for (int steps = 0; steps < 8; ++steps) {
        const ir::Node* p = cur->producer();
        if (!p || p->num_outputs() != 1) return {};
        const std::string& op = p->op_type();
        if (is_weighted_op(op)) {
            rev.push_back(p);
            out.head = p;
            out.chain.assign(rev.rbegin(), rev.rend());
            return out;
        }
        const ir::Value* next = p->input(0);
        if (!next) return {};
        bool next_single = single_reader(*next);
        if ((op == "Dropout" || op == "Identity") && stage == kTail) {
            // stays in the tail stage
        } else if (is_fusable_activation(op) && op != "Tanh" && stage < kAct) {
            stage = kAct;
        } else if (op == "Mul" && stage < kAct && is_swish_mul(*p)) {
            // Swish: x * Sigmoid(x); x is read by the Sigmoid and the Mul only.
            const ir::Node* sig = nullptr;
            const ir::Value* x = nullptr;
            for (int i = 0; i < 2 && !sig; ++i) {
                const ir::Value* s = p->input(1 - i);
                if (s->producer() && s->producer()->op_type() == "Sigmoid" && s->producer()->input(0) == p->input(i)) {
                    x = p->input(i);
                    sig = s->producer();
                }
            }
            if (!sig || !single_reader(*sig->output(0))) return {};
            if (x->uses().size() != 2 || x->is_graph_output()) return {};
            rev.push_back(p);
            rev.push_back(sig);
            stage = kAct;
            cur = x;
            continue;
        } else if (op == "BatchNormalization" && stage < kBn) {
            stage = kBn;
        } else {
            return {};
        }
        if (!next_single) return {};
        rev.push_back(p);
        cur = next;
    }
    return {};
}

DepthMap::DepthMap(const ir::Graph& g) {
    auto order = g.topo_order();
    if (!order.ok()) return;
    for (const ir::Node* n : *order) {
        int d = 0;
        for (const ir::Value* in : n->inputs())
            if (in && in->producer()) d = std::max(d, depth_[in->producer()]);
        depth_[n] = d + 1;
    }
}

int DepthMap::depth(const ir::Node* n) const {
    auto it = depth_.find(n);
    return it == depth_.end() ? 0 : it->second;
}

int DepthMap::depth(const ir::Value* v) const { return v && v->producer() ? depth(v->producer()) : 0; }

std::vector<const ir::Node*> consumers(const ir::Value& v) {
    std::vector<const ir::Node*> out;
    for (const ir::Use& u : v.uses())
        if (std::find(out.begin(), out.end(), u.node) == out.end()) out.push_back(u.node);
    return out;
}

}  // namespace qat::passes::quant
