// Internal glue of the public API (include/qat/): the pimpl bodies and the conversion of the
// toolkit's Status / Result / Tensor into the public ones. Never installed.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/transforms.h"
#include "engine/engine.h"
#include "ir/graph.h"
#include "qat/data.h"
#include "qat/engine.h"
#include "qat/model.h"
#include "qat/status.h"
#include "qat/tensor.h"

namespace qat::api {

struct Model::Impl {
    std::unique_ptr<ir::Graph> graph;
    std::string source;
};

struct Engine::Impl {
    engine::Engine engine;
    explicit Impl(engine::Engine e) : engine(std::move(e)) {}
};

namespace internal {

// The toolkit's status as a public one: same code, message with its context appended.
Status to_api(const ::qat::Status& s);

template <typename T>
Status to_api(const ::qat::Result<T>& r) {
    return to_api(r.status());
}

// f32 copy of any numeric tensor; public tensor -> internal f32 tensor (a copy).
FloatTensor to_float_tensor(const ::qat::Tensor& t);
::qat::Tensor to_internal(const FloatTensor& t);

TensorInfo value_info(const ir::Value& v);

// The data set a DataSpec names (its sample pick applied) and its preprocessing. `role` names
// the set in messages ("calibration", "evaluation").
struct OpenedSet {
    data::DatasetPtr dataset;
    data::Preprocess preprocess;
    std::string description;  // "fashion-mnist train: 512 samples"
};
::qat::Result<OpenedSet> open_set(const DataSpec& spec, const std::string& role);

// Wraps an internal graph into a public Model (Model's constructor is private).
Model make_model(std::unique_ptr<ir::Graph> graph, std::string source);

}  // namespace internal
}  // namespace qat::api

// Inside the API's .cpp files: turn an internal Result/Status into a public early return.
#define QAT_API_RETURN_IF_ERROR(expr)                                          \
    do {                                                                       \
        ::qat::Status _qat_api_s = (expr);                                     \
        if (!_qat_api_s.ok()) return ::qat::api::internal::to_api(_qat_api_s); \
    } while (0)

#define QAT_API_ASSIGN_OR_RETURN(lhs, expr) \
    QAT_API_ASSIGN_OR_RETURN_IMPL(QAT_CONCAT_(qat_api_result_, __LINE__), lhs, expr)
#define QAT_API_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)                                 \
    auto tmp = (expr);                                                                \
    if (!tmp.ok()) return ::qat::api::internal::to_api(std::move(tmp).take_status()); \
    lhs = std::move(tmp).value()
