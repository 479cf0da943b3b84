// The Q/DQ placement option group, shared by `qat quantize` and (later) `qat calibrate`, which
// places Q/DQ the same way when its input has none.
//
//   PlacementCliOptions po;
//   add_placement_options(sub, &po);
//   ... in the callback:
//   QAT_ASSIGN_OR_RETURN(quant::QuantizeOptions qo, make_quantize_options(po));
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "quant/quantize.h"

namespace qat::cli {

struct PlacementCliOptions {
    std::string spec;
    std::string mode;
    std::string preset;
    std::vector<std::string> cases;
    std::vector<std::string> include;
    std::vector<std::string> exclude;
    bool fold_bn = false;
    bool requantize = false;
    std::string weights = "int8";
};

// --spec --mode --preset --case --include --exclude --fold-bn --requantize --weights
void add_placement_options(CLI::App* sub, PlacementCliOptions* o);
// Checks every value (unknown mode/preset/case/weights, unreadable or invalid spec) and builds
// the library options; calibration fields are left to the caller.
Result<quant::QuantizeOptions> make_quantize_options(const PlacementCliOptions& o);

}  // namespace qat::cli
