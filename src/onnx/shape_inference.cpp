#include "onnx/shape_inference.h"

#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "onnx/proto_internal.h"

namespace qat::onnx {
namespace {

// Merges inferred facts into a Value: each dim becomes the more precise of the two
// (static > symbolic > unknown). A rank conflict keeps what the Value had.
void merge_into(ir::Value* v, DataType dtype, const Shape& inferred) {
    if (v->dtype() == DataType::kUndefined && dtype != DataType::kUndefined) v->set_dtype(dtype);
    if (!inferred.rank_known()) return;
    const Shape& cur = v->shape();
    if (!cur.rank_known()) {
        v->set_shape(inferred);
        return;
    }
    if (cur.rank() != inferred.rank()) return;
    Shape merged = cur;
    for (size_t i = 0; i < merged.rank(); ++i) {
        const Dim& a = cur[i];
        const Dim& b = inferred[i];
        if (!a.is_static() && b.is_static())
            merged[i] = b;
        else if (!a.is_static() && a.symbol.empty() && !b.symbol.empty())
            merged[i] = b;
    }
    v->set_shape(std::move(merged));
}

void apply(ir::Graph& g, const ::onnx::ValueInfoProto& vi) {
    ir::Value* v = g.find_value(vi.name());
    if (!v || v->is_constant() || v->is_graph_input()) return;
    DataType dtype;
    Shape shape;
    // Types qat cannot hold (sequences, strings) just stay unknown.
    if (!internal::type_from_proto(vi.type(), vi.name(), &dtype, &shape).ok()) return;
    merge_into(v, dtype, shape);
}

// ---- shape-tensor folding -------------------------------------------------------------------
//
// ONNX 1.12 infers an output shape from a "shape" input (Pad's pads, Resize's sizes, Reshape's
// shape, Expand, Tile, ...) only when that input is an initializer or a Constant. Exporters such
// as tf2onnx compute those inputs with small integer subgraphs instead: Split of a constant,
// Concat of the pieces (M-LSD's Pad), or Shape -> Slice -> Concat of the feature map (M-LSD's
// Resize sizes). ONNX's data propagation covers part of that but not Split, and its results do
// not reach Pad or Resize. So every dim after such a node stayed unknown ("unk__7"), and the
// shapes of the whole rest of the network with it.
//
// We evaluate those subgraphs here: int64 tensors of at most kMaxFoldElements elements, computed
// from constants and from the static shapes inference has found so far. Their values are handed
// to ONNX as initializers of the exported copy (the producing nodes dropped), and inference runs
// again until nothing new folds. The qat graph itself is not changed (only dtypes and shapes are
// written, as before); constant folding of the graph is the passes' business.

constexpr int64_t kMaxFoldElements = 1024;
constexpr int kMaxRounds = 16;

struct IntTensor {
    std::vector<int64_t> dims;
    std::vector<int64_t> v;
};

std::optional<IntTensor> int_tensor_of(const Tensor& t) {
    if (!t.defined() || t.numel() > kMaxFoldElements) return std::nullopt;
    IntTensor r;
    r.dims = t.dims();
    r.v.resize(static_cast<size_t>(t.numel()));
    if (t.dtype() == DataType::kInt64) {
        std::copy(t.data<int64_t>(), t.data<int64_t>() + t.numel(), r.v.begin());
    } else if (t.dtype() == DataType::kInt32) {
        std::copy(t.data<int32_t>(), t.data<int32_t>() + t.numel(), r.v.begin());
    } else {
        return std::nullopt;
    }
    return r;
}

int64_t numel_of_dims(const std::vector<int64_t>& d) {
    int64_t n = 1;
    for (int64_t x : d) n *= x;
    return n;
}

// Normalises an axis in [-rank, rank); nullopt when out of range.
std::optional<int64_t> norm_axis(int64_t a, int64_t rank) {
    if (a < -rank || a >= rank) return std::nullopt;
    return a < 0 ? a + rank : a;
}

class ShapeFolder {
  public:
    explicit ShapeFolder(const ir::Graph& g) : g_(g) {}

    // Folds what it can in topological order; true when something new folded.
    bool run() {
        auto order = g_.topo_order();
        if (!order.ok()) return false;
        bool changed = false;
        for (const ir::Node* n : *order) {
            if (folded_nodes_.count(n)) continue;
            if (!n->domain().empty() && n->domain() != "ai.onnx") continue;
            bool skip = n->num_outputs() == 0;
            for (const ir::Value* o : n->outputs())
                if (!o || o->is_constant() || o->is_graph_output() || is_omitted_output(*o)) skip = true;
            if (skip) continue;
            auto outs = eval(*n);
            if (!outs || outs->size() != n->num_outputs()) continue;
            bool ok = true;
            for (const IntTensor& t : *outs)
                if (static_cast<int64_t>(t.v.size()) > kMaxFoldElements ||
                    numel_of_dims(t.dims) != static_cast<int64_t>(t.v.size()))
                    ok = false;
            if (!ok) continue;
            for (size_t i = 0; i < outs->size(); ++i) known_[n->output(i)->name()] = std::move((*outs)[i]);
            folded_nodes_.insert(n);
            changed = true;
        }
        return changed;
    }

    const std::map<std::string, IntTensor>& known() const { return known_; }
    const std::set<const ir::Node*>& folded_nodes() const { return folded_nodes_; }

  private:
    std::optional<IntTensor> value(const ir::Value* v) const {
        if (!v) return std::nullopt;
        auto it = known_.find(v->name());
        if (it != known_.end()) return it->second;
        if (v->is_constant()) return int_tensor_of(v->constant());
        return std::nullopt;
    }

    static IntTensor vec(std::vector<int64_t> v) {
        IntTensor t;
        t.dims = {static_cast<int64_t>(v.size())};
        t.v = std::move(v);
        return t;
    }

    std::optional<std::vector<IntTensor>> eval(const ir::Node& n) const {
        const std::string& op = n.op_type();
        const int64_t opset = g_.info().opset("");
        using Out = std::vector<IntTensor>;
        if (op == "Shape") {
            const ir::Value* x = n.input(0);
            if (!x || !x->shape().rank_known()) return std::nullopt;
            auto dims = x->shape().static_dims();
            if (!dims) return std::nullopt;
            const int64_t r = static_cast<int64_t>(dims->size());
            int64_t start = n.attr_int("start", 0), end = n.attr_int("end", r);
            if (start < 0) start += r;
            if (end < 0) end += r;
            start = std::clamp<int64_t>(start, 0, r);
            end = std::clamp<int64_t>(end, start, r);
            return Out{vec(std::vector<int64_t>(dims->begin() + start, dims->begin() + end))};
        }
        if (op == "Identity") {
            auto x = value(n.input(0));
            if (!x) return std::nullopt;
            return Out{*x};
        }
        if (op == "Cast") {
            // Integer to int64 only: that is what shape subgraphs cast.
            const int64_t to = n.attr_int("to", 0);
            if (to != 7 /*INT64*/) return std::nullopt;
            auto x = value(n.input(0));
            if (!x) return std::nullopt;
            return Out{*x};
        }
        if (op == "Concat") {
            IntTensor r;
            std::vector<IntTensor> ins;
            for (const ir::Value* v : n.inputs()) {
                auto t = value(v);
                if (!t || t->dims.size() != 1) return std::nullopt;  // shape vectors only
                ins.push_back(std::move(*t));
            }
            if (ins.empty()) return std::nullopt;
            auto axis = norm_axis(n.attr_int("axis", 0), 1);
            if (!axis) return std::nullopt;
            for (const auto& t : ins) r.v.insert(r.v.end(), t.v.begin(), t.v.end());
            r.dims = {static_cast<int64_t>(r.v.size())};
            return Out{r};
        }
        if (op == "Split") {
            auto x = value(n.input(0));
            if (!x || x->dims.size() != 1) return std::nullopt;
            auto axis = norm_axis(n.attr_int("axis", 0), 1);
            if (!axis) return std::nullopt;
            std::vector<int64_t> split;
            if (opset >= 13 && n.num_inputs() > 1 && n.input(1)) {
                auto s = value(n.input(1));
                if (!s) return std::nullopt;
                split = s->v;
            } else if (n.has_attr("split")) {
                split = n.attr_ints("split");
            } else {
                const int64_t k = static_cast<int64_t>(n.num_outputs());
                if (k == 0 || x->dims[0] % k != 0) return std::nullopt;
                split.assign(static_cast<size_t>(k), x->dims[0] / k);
            }
            if (split.size() != n.num_outputs()) return std::nullopt;
            int64_t total = 0;
            for (int64_t s : split) {
                if (s < 0) return std::nullopt;
                total += s;
            }
            if (total != x->dims[0]) return std::nullopt;
            Out outs;
            int64_t at = 0;
            for (int64_t s : split) {
                outs.push_back(vec(std::vector<int64_t>(x->v.begin() + at, x->v.begin() + at + s)));
                at += s;
            }
            return outs;
        }
        if (op == "Slice") {
            auto x = value(n.input(0));
            if (!x || x->dims.size() != 1) return std::nullopt;
            std::vector<int64_t> starts, ends, axes{0}, steps{1};
            if (opset < 10) {
                starts = n.attr_ints("starts");
                ends = n.attr_ints("ends");
                axes = n.attr_ints("axes", {0});
            } else {
                auto s = value(n.input(1)), e = value(n.input(2));
                if (!s || !e) return std::nullopt;
                starts = s->v;
                ends = e->v;
                if (n.num_inputs() > 3 && n.input(3)) {
                    auto a = value(n.input(3));
                    if (!a) return std::nullopt;
                    axes = a->v;
                }
                if (n.num_inputs() > 4 && n.input(4)) {
                    auto st = value(n.input(4));
                    if (!st) return std::nullopt;
                    steps = st->v;
                }
            }
            if (starts.size() != 1 || ends.size() != 1 || axes.size() != 1 || steps.size() != 1) return std::nullopt;
            if (!norm_axis(axes[0], 1) || steps[0] == 0) return std::nullopt;
            // ONNX Slice semantics on one axis (clamping as the spec says).
            const int64_t len = x->dims[0], step = steps[0];
            int64_t s = starts[0], e = ends[0];
            if (s < 0) s += len;
            if (e < 0) e += len;
            if (step > 0) {
                s = std::clamp<int64_t>(s, 0, len);
                e = std::clamp<int64_t>(e, 0, len);
            } else {
                s = std::clamp<int64_t>(s, 0, len - 1);
                e = std::clamp<int64_t>(e, -1, len - 1);
            }
            std::vector<int64_t> r;
            for (int64_t i = s; step > 0 ? i < e : i > e; i += step) r.push_back(x->v[static_cast<size_t>(i)]);
            return Out{vec(std::move(r))};
        }
        if (op == "Gather") {
            auto x = value(n.input(0)), idx = value(n.input(1));
            if (!x || !idx || x->dims.size() != 1 || idx->dims.size() > 1) return std::nullopt;
            if (!norm_axis(n.attr_int("axis", 0), 1)) return std::nullopt;
            IntTensor r;
            r.dims = idx->dims;
            for (int64_t i : idx->v) {
                if (i < -x->dims[0] || i >= x->dims[0]) return std::nullopt;
                r.v.push_back(x->v[static_cast<size_t>(i < 0 ? i + x->dims[0] : i)]);
            }
            return Out{r};
        }
        if (op == "Unsqueeze" || op == "Squeeze") {
            auto x = value(n.input(0));
            if (!x) return std::nullopt;
            std::vector<int64_t> axes;
            if (opset >= 13) {
                if (n.num_inputs() > 1 && n.input(1)) {
                    auto a = value(n.input(1));
                    if (!a) return std::nullopt;
                    axes = a->v;
                }
            } else {
                axes = n.attr_ints("axes");
            }
            IntTensor r = *x;
            if (op == "Unsqueeze") {
                // Scalar -> [1] and [n] -> [1, n] / [n, 1]: the shapes these subgraphs use.
                const int64_t out_rank = static_cast<int64_t>(x->dims.size() + axes.size());
                std::vector<bool> is_new(static_cast<size_t>(out_rank), false);
                for (int64_t a : axes) {
                    auto na = norm_axis(a, out_rank);
                    if (!na || is_new[static_cast<size_t>(*na)]) return std::nullopt;
                    is_new[static_cast<size_t>(*na)] = true;
                }
                r.dims.clear();
                size_t k = 0;
                for (int64_t i = 0; i < out_rank; ++i)
                    r.dims.push_back(is_new[static_cast<size_t>(i)] ? 1 : x->dims[k++]);
            } else {
                const int64_t rank = static_cast<int64_t>(x->dims.size());
                std::vector<bool> drop(static_cast<size_t>(rank), false);
                if (axes.empty()) {
                    for (int64_t i = 0; i < rank; ++i)
                        drop[static_cast<size_t>(i)] = x->dims[static_cast<size_t>(i)] == 1;
                } else {
                    for (int64_t a : axes) {
                        auto na = norm_axis(a, rank);
                        if (!na || x->dims[static_cast<size_t>(*na)] != 1) return std::nullopt;
                        drop[static_cast<size_t>(*na)] = true;
                    }
                }
                r.dims.clear();
                for (int64_t i = 0; i < rank; ++i)
                    if (!drop[static_cast<size_t>(i)]) r.dims.push_back(x->dims[static_cast<size_t>(i)]);
            }
            return Out{r};
        }
        if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
            auto a = value(n.input(0)), b = value(n.input(1));
            if (!a || !b) return std::nullopt;
            // Same shape, or one side with a single element (broadcast as a scalar).
            const bool a1 = a->v.size() == 1, b1 = b->v.size() == 1;
            if (a->dims != b->dims && !a1 && !b1) return std::nullopt;
            IntTensor r = (a1 && !b1) ? *b : *a;
            if (a->dims != b->dims && a1 && b1) r.dims = a->dims.size() >= b->dims.size() ? a->dims : b->dims;
            for (size_t i = 0; i < r.v.size(); ++i) {
                int64_t x = a->v[a1 ? 0 : i], y = b->v[b1 ? 0 : i];
                if (op == "Add") r.v[i] = x + y;
                if (op == "Sub") r.v[i] = x - y;
                if (op == "Mul") r.v[i] = x * y;
                if (op == "Div") {
                    if (y == 0) return std::nullopt;
                    // Integer Div truncates toward zero (C and numpy's int division for ONNX).
                    r.v[i] = x / y;
                }
            }
            return Out{r};
        }
        return std::nullopt;
    }

    const ir::Graph& g_;
    std::map<std::string, IntTensor> known_;
    std::set<const ir::Node*> folded_nodes_;
};

// Runs ONNX inference on `m` and writes the results onto `graph`.
Status infer_once(ir::Graph& graph, ::onnx::ModelProto& m) {
    try {
        ::onnx::ShapeInferenceOptions opts{false /*check_type*/, 0 /*node errors are not fatal*/, true /*data prop*/};
        ::onnx::shape_inference::InferShapes(m, ::onnx::OpSchemaRegistry::Instance(), opts);
    } catch (const std::exception& e) {
        std::string msg = e.what();
        for (char& c : msg)
            if (c == '\n') c = ' ';
        return invalid_model("ONNX shape inference failed: ", msg);
    }
    for (const auto& vi : m.graph().value_info()) apply(graph, vi);
    for (const auto& vi : m.graph().output()) apply(graph, vi);
    return OkStatus();
}

// The exported copy with the folded shape tensors as initializers and their producers removed.
void substitute_folded(const ShapeFolder& folder, ::onnx::ModelProto* m) {
    auto* gp = m->mutable_graph();
    std::unordered_set<std::string> folded;
    for (const auto& [name, t] : folder.known()) folded.insert(name);
    ::google::protobuf::RepeatedPtrField<::onnx::NodeProto> kept;
    for (const auto& np : gp->node()) {
        bool all = np.output_size() > 0;
        for (const auto& o : np.output())
            if (!folded.count(o)) all = false;
        if (!all) *kept.Add() = np;
    }
    gp->mutable_node()->Swap(&kept);
    // value_info of a value that is now an initializer would only be redundant; drop it.
    ::google::protobuf::RepeatedPtrField<::onnx::ValueInfoProto> vis;
    for (const auto& vi : gp->value_info())
        if (!folded.count(vi.name())) *vis.Add() = vi;
    gp->mutable_value_info()->Swap(&vis);
    for (const auto& [name, t] : folder.known()) {
        Tensor payload = Tensor::from_vector<int64_t>(t.dims, t.v);
        ::onnx::TensorProto* p = gp->add_initializer();
        internal::tensor_to_proto(payload, p);
        p->set_name(name);
    }
}

}  // namespace

Status infer_shapes(ir::Graph& graph) {
    ShapeFolder folder(graph);
    for (int round = 0; round < kMaxRounds; ++round) {
        ::onnx::ModelProto m;
        Status s = internal::graph_to_model_proto(graph, true, &m);
        if (!s.ok()) return std::move(s).with_context("while preparing shape inference");
        if (!folder.known().empty()) substitute_folded(folder, &m);
        QAT_RETURN_IF_ERROR(infer_once(graph, m));
        // The folded values' own shapes (ONNX sees them as initializers and reports nothing).
        for (const auto& [name, t] : folder.known())
            if (ir::Value* v = graph.find_value(name)) {
                std::vector<Dim> dims(t.dims.begin(), t.dims.end());
                merge_into(v, DataType::kInt64, Shape(std::move(dims)));
            }
        if (!folder.run()) break;
    }
    return OkStatus();
}

}  // namespace qat::onnx
