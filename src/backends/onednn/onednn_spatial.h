// Internal to the oneDNN backend: output geometry of convolution and pooling windows (ONNX's
// explicit pads, auto_pad, ceil_mode) in the begin/end padding form oneDNN takes.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"

namespace qat::onednn {

// in: spatial input dims; pads: ONNX begin..end. Fills pad_begin, pad_end (end grows for
// ceil_mode so that oneDNN's floor formula yields the ceil output) and out. Errors name the node.
Status spatial_output(const ir::Node& node, const std::vector<int64_t>& in, const std::vector<int64_t>& kernel,
                      const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                      const std::vector<int64_t>& pads, const std::string& auto_pad, bool ceil_mode,
                      std::vector<int64_t>* pad_begin, std::vector<int64_t>* pad_end, std::vector<int64_t>* out);

}  // namespace qat::onednn
