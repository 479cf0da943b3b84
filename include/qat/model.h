// qat public API: an ONNX model in memory. Load an FP32 (or Q/DQ) ONNX file, quantize and
// calibrate it in place (qat/quantize.h), save it back as ONNX, or build an engine from it
// (qat/engine.h).
//
//   auto m = qat::api::Model::load("resnet.onnx");
//   if (!m.ok()) return fail(m.status());
//   for (const auto& in : m->inputs()) std::printf("%s %s\n", in.name.c_str(), in.shape_string().c_str());
//   qat::api::Status s = m->save("copy.onnx");
//
// A Model owns its graph; it is movable, not copyable (clone() makes an explicit copy).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "qat/status.h"

namespace qat::api {

// A model input or output as the model declares it.
struct TensorInfo {
    std::string name;
    std::string dtype;           // "float32", "int64", ...; "undefined" when the model does not say
    std::vector<int64_t> shape;  // -1 for a symbolic or unknown dim
    bool rank_known = true;      // false: shape is empty because the model gives no rank
    // "[N,1,28,28]"-like: "?" for each unknown dim.
    std::string shape_string() const;
};

class Model {
  public:
    // Reads and checks an ONNX file (opset < 13 is upgraded to 13, which Q/DQ per-channel
    // needs, and shapes are inferred). Errors: a missing or unreadable file, a malformed model.
    static Result<Model> load(const std::string& path);
    // Parses ONNX bytes (`what` names them in messages).
    static Result<Model> from_bytes(const std::string& bytes, const std::string& what = "model");

    Model(Model&&) noexcept;
    Model& operator=(Model&&) noexcept;
    ~Model();

    // Writes the model as ONNX after the ONNX checker accepted it; atomic (no half-written file).
    Status save(const std::string& path) const;
    Result<std::string> to_bytes() const;
    Result<Model> clone() const;

    // Graph inputs that are fed at run time (initializers excluded) and graph outputs.
    std::vector<TensorInfo> inputs() const;
    std::vector<TensorInfo> outputs() const;
    // Where the model came from (its path, or the `what` of from_bytes).
    const std::string& source() const;
    // True when the model holds QuantizeLinear / DequantizeLinear nodes.
    bool has_qdq() const;
    // False when quantize() placed Q/DQ without calibration data (placeholder scales): such a
    // model must be calibrated before an engine is built from it.
    bool is_calibrated() const;
    // Number of nodes (for reports).
    int64_t num_nodes() const;

    struct Impl;  // internal: the graph (not part of the API)
    Impl& impl() { return *impl_; }
    const Impl& impl() const { return *impl_; }

    // Internal: only the library can make an Impl.
    explicit Model(std::unique_ptr<Impl> impl);

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace qat::api
