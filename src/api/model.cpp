// qat::api::Model over ir::Graph: ONNX import (upgraded to opset 13, shapes inferred) and
// export (checked by the ONNX checker, written atomically).
#include "api/api_internal.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "onnx/shape_inference.h"
#include "onnx/version_convert.h"
#include "passes/quant/strip_qdq.h"
#include "quant/calibrated.h"

namespace qat::api {

namespace internal {

Model make_model(std::unique_ptr<ir::Graph> graph, std::string source) {
    auto impl = std::make_unique<Model::Impl>();
    impl->graph = std::move(graph);
    impl->source = std::move(source);
    return Model(std::move(impl));
}

}  // namespace internal

namespace {

// Q/DQ per-channel needs opset 13; shape inference gives the placement every tensor's dtype.
// A failed inference is not fatal (as in `qat quantize`): tensors of unknown dtype count as float.
Result<Model> finish_load(::qat::Result<std::unique_ptr<ir::Graph>> g, const std::string& what) {
    if (!g.ok()) return internal::to_api(g.status());
    std::unique_ptr<ir::Graph> graph = std::move(g).value();
    const int64_t opset = graph->info().opset("");
    if (opset != 0 && opset < 13) {
        auto up = onnx::upgrade_opset(*graph, 13, what);
        if (!up.ok()) return internal::to_api(up.status());
        graph = std::move(up).value();
    }
    onnx::infer_shapes(*graph).ignore();
    return internal::make_model(std::move(graph), what);
}

}  // namespace

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Result<Model> Model::load(const std::string& path) {
    if (path.empty()) return Status(StatusCode::kInvalidArgument, "Model::load: empty path");
    onnx::ImportOptions opts;
    opts.allow_old_opsets = true;  // upgraded to 13 below
    return finish_load(onnx::load_model(path, opts), path);
}

Result<Model> Model::from_bytes(const std::string& bytes, const std::string& what) {
    onnx::ImportOptions opts;
    opts.allow_old_opsets = true;
    return finish_load(onnx::import_model_bytes(bytes, what, opts), what);
}

Status Model::save(const std::string& path) const {
    onnx::ExportOptions eo;
    eo.check = true;
    return internal::to_api(onnx::save_model(*impl_->graph, path, eo));
}

Result<std::string> Model::to_bytes() const {
    onnx::ExportOptions eo;
    eo.check = true;
    auto b = onnx::export_model_bytes(*impl_->graph, eo);
    if (!b.ok()) return internal::to_api(b.status());
    return std::move(b).value();
}

Result<Model> Model::clone() const { return internal::make_model(impl_->graph->clone(), impl_->source); }

std::vector<TensorInfo> Model::inputs() const {
    std::vector<TensorInfo> r;
    for (const ir::Value* v : impl_->graph->inputs())
        if (!v->is_constant()) r.push_back(internal::value_info(*v));
    return r;
}

std::vector<TensorInfo> Model::outputs() const {
    std::vector<TensorInfo> r;
    for (const ir::Value* v : impl_->graph->outputs()) r.push_back(internal::value_info(*v));
    return r;
}

const std::string& Model::source() const { return impl_->source; }

bool Model::has_qdq() const { return !passes::quant::find_quantization_nodes(*impl_->graph).empty(); }

bool Model::is_calibrated() const { return !quant::is_uncalibrated(*impl_->graph); }

int64_t Model::num_nodes() const { return static_cast<int64_t>(impl_->graph->num_nodes()); }

std::string TensorInfo::shape_string() const {
    if (!rank_known) return "[?...]";
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ",";
        s += shape[i] < 0 ? "?" : std::to_string(shape[i]);
    }
    return s + "]";
}

}  // namespace qat::api
