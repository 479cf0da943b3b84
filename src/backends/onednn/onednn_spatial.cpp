#include "backends/onednn/onednn_spatial.h"

#include "runtime/kernel.h"

namespace qat::onednn {

Status spatial_output(const ir::Node& node, const std::vector<int64_t>& in, const std::vector<int64_t>& kernel,
                      const std::vector<int64_t>& strides, const std::vector<int64_t>& dilations,
                      const std::vector<int64_t>& pads, const std::string& auto_pad, bool ceil_mode,
                      std::vector<int64_t>* pad_begin, std::vector<int64_t>* pad_end, std::vector<int64_t>* out) {
    size_t n = in.size();
    pad_begin->assign(n, 0);
    pad_end->assign(n, 0);
    out->assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
        int64_t k_eff = (kernel[i] - 1) * dilations[i] + 1;
        int64_t s = strides[i];
        int64_t pb = 0, pe = 0, o = 0;
        if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
            o = (in[i] + s - 1) / s;
            int64_t total = std::max<int64_t>(0, (o - 1) * s + k_eff - in[i]);
            pb = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
            pe = total - pb;
        } else {
            if (auto_pad != "VALID") {
                pb = pads[i];
                pe = pads[n + i];
            }
            int64_t span = in[i] + pb + pe - k_eff;
            if (span < 0)
                return runtime::kernel_error(node, "window ", k_eff, " is larger than the padded input ",
                                             in[i] + pb + pe, " in spatial dim ", i);
            o = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
            // ONNX (like PyTorch) drops a last window that would start in the end padding.
            if (ceil_mode && (o - 1) * s >= in[i] + pb) --o;
            // oneDNN computes floor((in + pb + pe - k_eff) / s) + 1: grow the end pad to match.
            int64_t need = (o - 1) * s + k_eff - in[i] - pb;
            if (need > pe) pe = need;
        }
        (*pad_begin)[i] = pb;
        (*pad_end)[i] = pe;
        (*out)[i] = o;
    }
    return OkStatus();
}

}  // namespace qat::onednn
