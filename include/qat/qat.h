// qat public C++ API: from a trained FP32 ONNX model to an INT8 engine.
//
//   #include <qat/qat.h>
//   namespace qa = qat::api;
//
//   auto model = qa::Model::load("model.onnx");                 // qat/model.h
//   if (!model.ok()) { std::fprintf(stderr, "%s\n", model.status().message().c_str()); return 2; }
//   qa::DataSpec calib;  calib.source = "fashion-mnist";  calib.samples = 256;   // qat/data.h
//   if (auto r = qa::quantize(*model); !r.ok()) ...            // qat/quantize.h: place Q/DQ
//   if (auto r = qa::calibrate(*model, calib); !r.ok()) ...    // activation scales from data
//   auto engine = qa::Engine::build(*model);                   // qat/engine.h: INT8 engine
//   auto out = engine->run({qa::FloatTensor::zeros({1, 1, 28, 28})});
//
// Errors come back as qa::Status / qa::Result<T> (qat/status.h); nothing throws. The library is
// found by CMake with find_package(qat) and linked as qat::qat (docs/API.md).
#pragma once

#include "qat/data.h"
#include "qat/engine.h"
#include "qat/model.h"
#include "qat/quantize.h"
#include "qat/status.h"
#include "qat/tensor.h"

namespace qat::api {

// The qat release ("0.1.0").
const char* version();

}  // namespace qat::api
