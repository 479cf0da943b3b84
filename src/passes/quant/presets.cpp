#include "passes/quant/presets.h"

#include "passes/quant/case_bn_input.h"
#include "passes/quant/case_concat_scale.h"
#include "passes/quant/case_maxpool_input.h"
#include "passes/quant/case_residual_add.h"
#include "passes/quant/case_se_mul.h"

namespace qat::passes::quant {

namespace {

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
}

}  // namespace

std::vector<std::string> preset_names() {
    return {"auto", "none", "resnet_v1", "resnet_v2", "efficientnet", "mobilenet", "inception"};
}

std::vector<std::string> case_names() {
    return {"residual_add", "bn_input", "maxpool_input", "se_mul", "concat_shared_scale"};
}

Result<std::unique_ptr<QdqCase>> make_case(const std::string& name) {
    if (name == "residual_add") return std::unique_ptr<QdqCase>(std::make_unique<ResidualAddCase>());
    if (name == "bn_input") return std::unique_ptr<QdqCase>(std::make_unique<BnInputCase>());
    if (name == "maxpool_input") return std::unique_ptr<QdqCase>(std::make_unique<MaxPoolInputCase>());
    if (name == "se_mul") return std::unique_ptr<QdqCase>(std::make_unique<SeMulCase>());
    if (name == "concat_shared_scale") return std::unique_ptr<QdqCase>(std::make_unique<ConcatSharedScaleCase>());
    return invalid_argument("unknown Q/DQ case '", name, "' (known: ", joined(case_names()), ")");
}

Result<QdqCaseList> make_preset(const std::string& name) {
    QdqCaseList cases;
    auto add = [&](std::unique_ptr<QdqCase> c) { cases.push_back(std::move(c)); };
    if (name == "none") {
        return cases;
    } else if (name == "resnet_v1" || name == "mobilenet") {
        add(std::make_unique<ResidualAddCase>());
    } else if (name == "resnet_v2") {
        add(std::make_unique<BnInputCase>());
        add(std::make_unique<MaxPoolInputCase>(MaxPoolInputCase::Scope::kAll));
        add(std::make_unique<ResidualAddCase>());
    } else if (name == "efficientnet") {
        add(std::make_unique<ResidualAddCase>());
        add(std::make_unique<SeMulCase>());
    } else if (name == "inception") {
        add(std::make_unique<MaxPoolInputCase>(MaxPoolInputCase::Scope::kAll));
        add(std::make_unique<ConcatSharedScaleCase>(ConcatSharedScaleCase::Scope::kAll));
    } else if (name == "auto") {
        add(std::make_unique<BnInputCase>());
        add(std::make_unique<MaxPoolInputCase>(MaxPoolInputCase::Scope::kBranches));
        add(std::make_unique<ResidualAddCase>());
        add(std::make_unique<SeMulCase>());
        // Last: it looks at whether the Concat's output is already quantized.
        add(std::make_unique<ConcatSharedScaleCase>(ConcatSharedScaleCase::Scope::kWhenOutputQuantized));
    } else {
        return invalid_argument("unknown preset '", name, "' (known: ", joined(preset_names()), ")");
    }
    return cases;
}

}  // namespace qat::passes::quant
