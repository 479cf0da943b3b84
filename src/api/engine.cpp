// qat::api::Engine over engine::Engine (build, engine files, run) and evaluate(), the library
// side of `qat build`, `qat run` on an engine and `qat eval`.
#include <algorithm>
#include <map>

#include "api/api_internal.h"
#include "backends/registry.h"
#include "data/loader.h"
#include "engine/engine_file.h"

namespace qat::api {
namespace {

::qat::Status check_options(const EngineOptions& o) {
    for (const auto& b : o.backends)
        if (!backends::is_available(b)) {
            std::string avail;
            for (const auto& a : backends::available_backends()) avail += (avail.empty() ? "" : ", ") + a;
            return invalid_argument("EngineOptions::backends: '", b,
                                    "' is not available in this build (available: ", avail, ")");
        }
    if (o.threads < 0) return invalid_argument("EngineOptions::threads must be >= 0, got ", o.threads);
    if (o.batch < 0) return invalid_argument("EngineOptions::batch must be >= 0, got ", o.batch);
    if (auto l = engine::parse_fp32_layout(o.fp32_layout); !l.ok())
        return invalid_argument("EngineOptions::fp32_layout: ", l.status().message());
    if (auto s = engine::parse_step_threads_request(o.step_threads); !s.ok())
        return invalid_argument("EngineOptions::step_threads: ", s.status().message());
    return OkStatus();
}

engine::EngineOptions to_engine_options(const EngineOptions& o) {
    engine::EngineOptions e;
    e.backends = o.backends;
    e.threads = o.threads;
    e.batch = o.batch;
    e.fuse_int8 = o.int8;
    e.fp32_layout = engine::parse_fp32_layout(o.fp32_layout).value_or(engine::Fp32Layout::kAuto);
    e.step_threads = engine::parse_step_threads_request(o.step_threads).value_or(engine::StepThreads::kAuto);
    return e;
}

// The inputs fed at run time: the engine's inputs minus those with a constant default.
std::vector<const ir::Value*> runtime_inputs(const engine::Engine& e) {
    std::vector<const ir::Value*> r;
    for (const ir::Value* v : e.input_values())
        if (!v->is_constant()) r.push_back(v);
    return r;
}

::qat::Result<std::vector<FloatTensor>> run_impl(engine::Engine& e, const std::vector<FloatTensor>& inputs) {
    std::vector<const ir::Value*> ins = runtime_inputs(e);
    if (inputs.size() != ins.size())
        return invalid_argument("Engine::run: the model has ", ins.size(), " input(s), got ", inputs.size(),
                                " tensor(s)");
    std::map<std::string, ::qat::Tensor> by_name;
    for (size_t i = 0; i < ins.size(); ++i) {
        const FloatTensor& t = inputs[i];
        for (int64_t d : t.shape)
            if (d < 0)
                return invalid_argument("Engine::run: input '", ins[i]->name(), "' has a negative dim in ",
                                        t.shape_string());
        if (static_cast<int64_t>(t.data.size()) != t.numel())
            return invalid_argument("Engine::run: input '", ins[i]->name(), "' has ", t.data.size(),
                                    " values for shape ", t.shape_string(), " (", t.numel(), " expected)");
        if (ins[i]->dtype() != DataType::kFloat32 && ins[i]->dtype() != DataType::kUndefined)
            return invalid_argument("Engine::run: input '", ins[i]->name(), "' has dtype ", dtype_name(ins[i]->dtype()),
                                    "; the public API feeds float32 only");
        by_name[ins[i]->name()] = internal::to_internal(t);
    }
    std::vector<::qat::Tensor> feeds(e.input_names().size());
    for (size_t i = 0; i < feeds.size(); ++i) {
        auto it = by_name.find(e.input_names()[i]);
        if (it != by_name.end()) feeds[i] = it->second;
    }
    QAT_ASSIGN_OR_RETURN(std::vector<::qat::Tensor> outs, e.run(feeds));
    std::vector<FloatTensor> r;
    r.reserve(outs.size());
    for (const auto& t : outs) r.push_back(internal::to_float_tensor(t));
    return r;
}

::qat::Result<EvalResult> evaluate_impl(engine::Engine& e, const DataSpec& d, int64_t batch) {
    if (batch < 1) return invalid_argument("evaluate: batch must be >= 1, got ", batch);
    std::vector<const ir::Value*> ins = runtime_inputs(e);
    if (ins.size() != 1) return invalid_argument("evaluate needs a model with one input, this one has ", ins.size());
    const ir::Value* input = ins[0];
    if (!input->shape().rank_known() || input->shape().rank() < 1)
        return invalid_argument("evaluate: input '", input->name(), "' has no known rank");
    const Dim& bd = input->shape()[0];
    const bool fixed = bd.is_static();
    if (fixed) batch = bd.value;

    QAT_ASSIGN_OR_RETURN(internal::OpenedSet set, internal::open_set(d, "evaluation"));
    data::LoaderOptions lo;
    lo.batch_size = batch;
    lo.preprocess = set.preprocess;
    QAT_ASSIGN_OR_RETURN(auto loader, data::Loader::create(set.dataset, lo));
    QAT_RETURN_IF_ERROR(data::check_input_shape(loader->sample_dims(), input->shape(), input->name(), batch)
                            .with_context("evaluation data " + set.description));

    EvalResult r;
    int64_t top1 = 0, top5 = 0, classes = -1;
    loader->start_epoch(0);
    data::Batch b;
    std::vector<::qat::Tensor> feeds(e.input_names().size());
    const size_t slot = static_cast<size_t>(std::find(e.input_names().begin(), e.input_names().end(), input->name()) -
                                            e.input_names().begin());
    for (;;) {
        QAT_ASSIGN_OR_RETURN(bool more, loader->next(&b));
        if (!more) break;
        const int64_t n = b.size();
        ::qat::Tensor x = b.images;
        if (fixed && n < batch) {
            // The last, partial batch of a fixed-batch engine: zero padding, not counted.
            x = ::qat::Tensor::zeros(DataType::kFloat32, loader->batch_dims());
            std::copy(b.images.data<float>(), b.images.data<float>() + b.images.numel(), x.data<float>());
        }
        feeds[slot] = x;
        auto outs = e.run(feeds);
        if (!outs.ok())
            return std::move(outs).take_status().with_context("while running batch " + std::to_string(b.number));
        const ::qat::Tensor& logits = (*outs)[0];
        if (logits.rank() < 2 || logits.dim(0) != x.dim(0) || logits.numel() % x.dim(0) != 0)
            return invalid_argument("evaluate: output '", e.output_names()[0], "' has shape ",
                                    dims_to_string(logits.dims()), ", expected [batch, classes]");
        const int64_t k = logits.numel() / x.dim(0);
        if (classes < 0) {
            classes = k;
            QAT_RETURN_IF_ERROR(data::check_labels(*set.dataset, classes));
        }
        for (int64_t i = 0; i < n; ++i) {
            const int64_t label = b.labels.data<int64_t>()[i];
            const double target = logits.get_as_double(i * k + label);
            int64_t rank = 0;  // ties go to the lower index, as a stable argsort would
            for (int64_t j = 0; j < k; ++j) {
                const double v = logits.get_as_double(i * k + j);
                if (v > target || (v == target && j < label)) ++rank;
            }
            top1 += rank == 0;
            top5 += rank < 5;
            ++r.samples;
        }
    }
    if (r.samples == 0) return invalid_argument("evaluate: the data set gave no samples");
    r.top1 = 100.0 * static_cast<double>(top1) / static_cast<double>(r.samples);
    r.top5 = 100.0 * static_cast<double>(top5) / static_cast<double>(r.samples);
    return r;
}

}  // namespace

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;
Engine::~Engine() = default;

Result<Engine> Engine::build(const Model& model, const EngineOptions& options) {
    QAT_API_RETURN_IF_ERROR(check_options(options));
    auto e = engine::build_engine(*model.impl().graph, to_engine_options(options));
    if (!e.ok()) return internal::to_api(std::move(e).take_status().with_context("while building " + model.source()));
    return Engine(std::make_unique<Impl>(std::move(e).value()));
}

Result<Engine> Engine::load(const std::string& path, const EngineOptions& options) {
    QAT_API_RETURN_IF_ERROR(check_options(options));
    if (path.empty()) return Status(StatusCode::kInvalidArgument, "Engine::load: empty path");
    auto e = engine::load_engine(path, to_engine_options(options));
    if (!e.ok()) return internal::to_api(e.status());
    return Engine(std::make_unique<Impl>(std::move(e).value()));
}

Status Engine::save(const std::string& path) const {
    return internal::to_api(engine::save_engine(impl_->engine, path));
}

Result<std::vector<FloatTensor>> Engine::run(const std::vector<FloatTensor>& inputs) {
    auto r = run_impl(impl_->engine, inputs);
    if (!r.ok()) return internal::to_api(r.status());
    return std::move(r).value();
}

std::vector<TensorInfo> Engine::inputs() const {
    std::vector<TensorInfo> r;
    for (const ir::Value* v : runtime_inputs(impl_->engine)) r.push_back(internal::value_info(*v));
    return r;
}

std::vector<TensorInfo> Engine::outputs() const {
    std::vector<TensorInfo> r;
    for (const ir::Value* v : impl_->engine.output_values()) r.push_back(internal::value_info(*v));
    return r;
}

std::string Engine::backend_summary() const {
    std::map<std::string, int> per;
    for (const auto& st : impl_->engine.steps()) ++per[st.backend];
    std::string s;
    for (const auto& [b, n] : per) s += (s.empty() ? "" : ", ") + b + " " + std::to_string(n);
    return s;
}

Result<EvalResult> evaluate(Engine& engine, const DataSpec& data, int64_t batch) {
    auto r = evaluate_impl(engine.impl().engine, data, batch);
    if (!r.ok()) return internal::to_api(r.status());
    return std::move(r).value();
}

}  // namespace qat::api
