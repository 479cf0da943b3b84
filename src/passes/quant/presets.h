// Presets: named compositions of the Q/DQ pattern cases, after the reference toolkit's network
// cases, plus `auto`, which finds the patterns from the graph's structure alone.
//
//   none          the plain default placement (policy table only)
//   resnet_v1     residual_add                              (ResNetV1QDQCase)
//   resnet_v2     residual_add, bn_input, maxpool_input      (ResNetV2QDQCase)
//   efficientnet  residual_add, se_mul                       (EfficientNetQDQCase)
//   mobilenet     residual_add                              (MobileNetQDQCase; v1 has no residuals)
//   inception     maxpool_input, concat_shared_scale         (InceptionQDQCase + shared Concat scale)
//   auto          bn_input, maxpool_input (branches only), residual_add, se_mul,
//                 concat_shared_scale (when the Concat's output is quantized)
// Every case's match() is structural, so `auto` applies each where its pattern occurs; the
// named presets apply their cases more broadly (every MaxPool / every Concat), as the reference
// toolkit does.
//
//   QAT_ASSIGN_OR_RETURN(QdqCaseList cases, make_preset("auto"));
//   QAT_ASSIGN_OR_RETURN(auto c, make_case("se_mul"));
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "passes/quant/qdq_case.h"

namespace qat::passes::quant {

std::vector<std::string> preset_names();
// The cases of a preset, in the order they run. Unknown name: error listing the presets.
Result<QdqCaseList> make_preset(const std::string& name);
// One built-in case by name (its broad scope). Unknown name: error listing the cases.
Result<std::unique_ptr<QdqCase>> make_case(const std::string& name);
std::vector<std::string> case_names();

}  // namespace qat::passes::quant
