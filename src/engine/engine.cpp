#include "engine/engine.h"

#include <map>
#include <set>
#include <thread>

#include "backends/registry.h"
#include "core/logging.h"
#include "ir/fused_ops.h"
#include "onnx/shape_inference.h"
#include "passes/pipelines.h"
#include "passes/qdq_checks.h"
#include "quant/calibrated.h"

#ifndef QAT_VERSION_STRING
#define QAT_VERSION_STRING "0.0.0"
#endif

namespace qat::engine {

const char* qat_version() { return QAT_VERSION_STRING; }

Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;
Engine::~Engine() = default;

const ir::Graph& Engine::graph() const { return plan_->graph(); }
int Engine::threads() const { return plan_->num_threads(); }

Result<std::vector<Tensor>> Engine::run(const std::vector<Tensor>& inputs, const runtime::NodeHook& hook) {
    return plan_->run(inputs, hook);
}

Result<std::map<std::string, Tensor>> Engine::run(const std::map<std::string, Tensor>& inputs,
                                                  const runtime::NodeHook& hook) {
    return plan_->run(inputs, hook);
}

const std::vector<std::string>& Engine::input_names() const { return plan_->input_names(); }
const std::vector<std::string>& Engine::output_names() const { return plan_->output_names(); }

std::vector<const ir::Value*> Engine::input_values() const {
    std::vector<const ir::Value*> out;
    for (const auto& n : input_names()) out.push_back(graph().find_value(n));
    return out;
}

std::vector<const ir::Value*> Engine::output_values() const {
    std::vector<const ir::Value*> out;
    for (const auto& n : output_names()) out.push_back(graph().find_value(n));
    return out;
}

std::vector<runtime::StepInfo> Engine::steps() const { return plan_->steps(); }

namespace {

int resolve_threads(int threads) {
    if (threads > 0) return threads;
    unsigned hc = std::thread::hardware_concurrency();
    return hc > 0 ? static_cast<int>(hc) : 1;
}

}  // namespace

Status Engine::compile(const ir::Graph& g) {
    runtime::PlanOptions po;
    po.registry = &backends::default_registry();
    po.backends = options_.backends;
    po.num_threads = resolve_threads(options_.threads);
    auto c = compile_with_fp32_layout(g, po, options_.fp32_layout);
    if (!c.ok()) return std::move(c).take_status().with_context("while compiling the engine plan");
    options_.fp32_layout = c->layout;
    fp32_layout_note_ = std::move(c->note);
    plan_ = std::move(c->plan);
    auto t = resolve_step_threads(*plan_, options_.step_threads, options_.serial_steps);
    if (!t.ok()) return std::move(t).take_status().with_context("while setting the steps' threads");
    // A dynamic batch leaves the choice to whoever fixes it (an engine file keeps `auto`).
    options_.step_threads = t->resolved;
    options_.serial_steps = std::move(t->serial_steps);
    step_threads_note_ = std::move(t->note);
    auto im = resolve_image_steps(*plan_, options_.image_steps, options_.image_through);
    if (!im.ok()) return std::move(im).take_status().with_context("while choosing the steps run one image at a time");
    options_.image_steps = im->resolved;
    options_.image_through = std::move(im->through);
    image_steps_note_ = std::move(im->note);
    return OkStatus();
}

Status check_model_for_engine(const ir::Graph& graph, const EngineOptions& options) {
    for (const auto& b : options.backends)
        if (!backends::is_available(b)) {
            std::string avail;
            for (const auto& a : backends::available_backends()) avail += (avail.empty() ? "" : ", ") + a;
            return invalid_argument("backend '", b, "' is not available in this build (available: ", avail, ")");
        }
    if (options.threads < 0) return invalid_argument("threads must be >= 0 (0: all cores), got ", options.threads);
    if (options.batch < 0) return invalid_argument("batch must be >= 0 (0: dynamic), got ", options.batch);
    QAT_RETURN_IF_ERROR(quant::check_calibrated(graph));
    QAT_RETURN_IF_ERROR(passes::check_qdq_params(graph));
    return OkStatus();
}

Status fix_batch(ir::Graph& graph, int64_t batch) {
    if (batch <= 0) return OkStatus();
    std::set<std::string> symbols;
    for (ir::Value* in : graph.inputs()) {
        if (in->is_constant()) continue;  // an initializer that may be overridden: not a batch input
        Shape s = in->shape();
        if (!s.rank_known() || s.rank() == 0) continue;
        Dim& d = s[0];
        if (d.is_static()) {
            if (d.value != batch)
                return invalid_argument("model input '", in->name(), "' has a fixed batch of ", d.value, " (shape ",
                                        s.to_string(), "); cannot build it for batch ", batch);
            continue;
        }
        if (!d.symbol.empty()) symbols.insert(d.symbol);
        d = Dim(batch);
        in->set_shape(s);
    }
    if (symbols.empty()) return OkStatus();
    for (ir::Value* v : graph.values()) {
        if (v->is_constant() || v->is_graph_input()) continue;
        Shape s = v->shape();
        if (!s.rank_known() || s.rank() == 0 || !symbols.count(s[0].symbol)) continue;
        s[0] = Dim(batch);
        v->set_shape(s);
    }
    return OkStatus();
}

namespace {

// Every node of the optimized graph gets a name ("QuantizeLinear_2" for an unnamed one, unique in
// the graph): profiles and `qat explain` name every step, and per-step choices (thread_choice.h)
// are kept by node name in engine files.
void name_unnamed_nodes(ir::Graph& g) {
    std::set<std::string> taken;
    for (const ir::Node* n : g.nodes()) taken.insert(n->name());
    std::map<std::string, int> next;
    for (ir::Node* n : g.nodes()) {
        if (!n->name().empty()) continue;
        std::string name;
        do {
            name = n->op_type() + "_" + std::to_string(next[n->op_type()]++);
        } while (taken.count(name));
        taken.insert(name);
        n->set_name(name);
    }
}

}  // namespace

Result<Engine> build_engine(const ir::Graph& graph, const EngineOptions& options) {
    QAT_RETURN_IF_ERROR(check_model_for_engine(graph, options));
    std::unique_ptr<ir::Graph> g = graph.clone();
    QAT_RETURN_IF_ERROR(fix_batch(*g, options.batch));
    // Shapes let the fusion check residual shapes and let constant folding fold Shape chains.
    // ONNX inference failing (an op it does not know) is not an error: the graph just keeps
    // what it had.
    Status si = onnx::infer_shapes(*g);
    if (!si.ok()) {
        QAT_VLOG("passes") << "shape inference skipped: " << si.to_string();
    }

    passes::EnginePipelineOptions po;
    po.fuse_int8 = options.fuse_int8;
    passes::PassManager pm = passes::make_engine_pipeline(po);
    passes::PassContext ctx;
    ctx.max_iterations = passes::engine_max_iterations(g->num_nodes());
    auto changed = pm.run(*g, ctx);
    if (!changed.ok()) return std::move(changed).take_status().with_context("while optimizing the model");
    bool any_fused = false;
    for (const ir::Node* n : g->nodes()) any_fused = any_fused || ir::fused::is_fused_op(*n);
    if (any_fused && g->info().opset(ir::fused::kDomain) == 0) g->info().set_opset(ir::fused::kDomain, 1);
    name_unnamed_nodes(*g);

    Engine e;
    e.options_ = options;
    e.pass_timings_ms_ = ctx.timings_ms;
    e.pass_rewrites_ = ctx.rewrites;
    QAT_RETURN_IF_ERROR(e.compile(*g));
    return e;
}

Result<Engine> engine_from_optimized_graph(const ir::Graph& graph, const EngineOptions& options) {
    QAT_RETURN_IF_ERROR(check_model_for_engine(graph, options));
    Engine e;
    e.options_ = options;
    std::unique_ptr<ir::Graph> g = graph.clone();
    QAT_RETURN_IF_ERROR(fix_batch(*g, options.batch));
    QAT_RETURN_IF_ERROR(e.compile(*g));
    return e;
}

}  // namespace qat::engine
