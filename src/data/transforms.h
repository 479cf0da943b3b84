// Preprocessing (raw sample -> the float32 tensor a model takes) and training augmentation.
//
// A Preprocess is plain data (what the CLI flags fill in); a Preprocessor applies it to one raw
// sample at a time, in this order, writing float32 straight into a batch slot:
//
//   u8/f32 [C,H,W] -> to_rgb (1 -> 3 channels) -> resize (bilinear) -> center crop
//                  -> [augment: random crop from a zero-padded image, horizontal flip]
//                  -> x * scale -> (x - mean[c]) / std[c] -> NCHW or NHWC
//
// This is torchvision's Resize -> CenterCrop -> RandomCrop(padding) -> RandomHorizontalFlip ->
// ToTensor -> Normalize, with ToTensor's 1/255 as `scale`. Padding happens before scaling, so the
// border is black (raw 0) exactly as in torchvision.
//
//   data::Preprocess p;
//   p.scale = 1.0f / 255;  p.mean = {0.4914f, 0.4822f, 0.4465f};  p.std = {0.247f, 0.243f, 0.261f};
//   QAT_ASSIGN_OR_RETURN(auto pre, data::Preprocessor::create(p, ds->sample_dims()));
//   std::vector<float> x(pre.output_numel());
//   QAT_RETURN_IF_ERROR(pre.run(sample, x.data()));
//
// Samples that are not images (an npy row of rank != 3) take only scale and a single mean/std.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "data/random.h"

namespace qat::data {

namespace detail {
// Resampling weights for one axis: output i reads inputs start[i] .. start[i] + count[i] - 1
// with weights[i * stride ...].
struct ResizeTaps {
    int64_t in = -1, out = -1;
    bool antialias = true;
    int64_t stride = 0;
    std::vector<int64_t> start, count;
    std::vector<float> weights;
};
}  // namespace detail

enum class Layout { kNCHW, kNHWC };
const char* layout_name(Layout l);  // "NCHW" | "NHWC"

struct Preprocess {
    float scale = 1.0f;           // applied first (1/255 maps u8 pixels to [0,1])
    std::vector<float> mean;      // after scale; empty (0), one value, or one per output channel
    std::vector<float> std;       // after scale; empty (1), one value, or one per output channel
    std::vector<int64_t> resize;  // {}: none; {S}: shorter side to S, aspect kept; {H,W}: exactly
    std::vector<int64_t> crop;    // {}: none; {S}: SxS center crop; {H,W}
    Layout layout = Layout::kNCHW;
    bool to_rgb = false;  // repeat a single channel into 3 (grey data, RGB model)
    // Downscaling averages over the whole footprint (a triangle filter as wide as the scale
    // factor: PIL's BILINEAR, torchvision's antialias=True); false gives plain 2-tap bilinear.
    bool antialias = true;

    bool is_identity() const;
    // "scale=0.00392157 mean=[0.5] std=[0.5] resize=256 crop=224 NCHW to_rgb"
    std::string to_string() const;
};

// The usual starting point for a data set: pixels (u8) scaled by 1/255, floats left alone.
Preprocess default_preprocess(DataType sample_dtype);

// Training augmentation, applied per sample by the loader with its own seeded Rng (the same
// epoch and seed give the same crops and flips on every machine).
struct Augment {
    bool random_crop = false;  // random window of the (cropped) size from the image padded by `padding`
    int64_t padding = 4;       // zero padding on each side for random_crop
    bool hflip = false;        // mirror left-right with probability 1/2
    bool enabled() const { return random_crop || hflip; }
};

class Preprocessor {
  public:
    // sample_dims / sample_dtype: the data set's (H and W may be -1 for images of varying size,
    // then resize to HxW or a crop must fix the output size). Checks every option: bad sizes,
    // std of 0, a mean with the wrong number of channels, transforms that need [C,H,W] samples.
    static Result<Preprocessor> create(const Preprocess& p, const std::vector<int64_t>& sample_dims,
                                       DataType sample_dtype = DataType::kUint8);

    // Dims of one output sample ([C,H,W] or [H,W,C]) and their element count.
    const std::vector<int64_t>& output_dims() const { return out_dims_; }
    int64_t output_numel() const { return out_numel_; }

    // Writes output_numel() floats for `sample` (u8 or f32) to dst. With `aug`, draws from rng in
    // this order: crop offset y, crop offset x (each uniform in [0, 2*padding]), then the flip.
    // Not thread-safe (scratch buffers are reused): one Preprocessor per thread.
    Status run(const Tensor& sample, float* dst, const Augment* aug = nullptr, Rng* rng = nullptr);

  private:
    Preprocess p_;
    std::vector<int64_t> in_dims_;
    bool image_ = false;  // rank-3 [C,H,W] path
    int64_t in_c_ = 0, out_c_ = 0;
    std::vector<int64_t> out_dims_;
    int64_t out_numel_ = 0;
    std::vector<float> mul_, add_;            // per output channel: y = x * mul + add
    std::vector<float> resized_, tmp_, mid_;  // resize output, u8->f32 input, row-pass result
    // Filter taps per axis, rebuilt only when the input or output size changes.
    detail::ResizeTaps taps_h_, taps_w_;
};

// ---- standalone pieces (used by the Preprocessor; also for trainers that augment batches) -----

// Resizes planes [C,H,W] (float) to [C,oh,ow] with half-pixel bilinear, antialiased when
// shrinking. dst must hold c * oh * ow floats.
void resize_bilinear(const float* src, int64_t c, int64_t h, int64_t w, float* dst, int64_t oh, int64_t ow,
                     bool antialias = true);
// Output size of a {S} or {H,W} resize of an h x w image (torchvision's rule for {S}: the short
// side becomes S, the long side S * long / short rounded down).
std::vector<int64_t> resize_output_size(const std::vector<int64_t>& resize, int64_t h, int64_t w);
// Top/left offset of an oh x ow center crop (torchvision: round((h - oh) / 2), ties to even).
int64_t center_crop_offset(int64_t size, int64_t crop);

// In-place augmentation of one float image, layout [C,H,W] (NCHW) or [H,W,C] (NHWC): with
// random_crop, pads by `padding` with `fill` and takes a random window of the same size; with
// hflip, mirrors with probability 1/2. Draws from rng in the order documented on run().
void augment_image(float* image, int64_t c, int64_t h, int64_t w, Layout layout, const Augment& aug, float fill,
                   Rng& rng, std::vector<float>* scratch);
// The same for every sample of a batch [B,C,H,W] / [B,H,W,C] (float32), in batch order. `fill`
// is the padding value in the batch's units (0 after normalisation is the mean colour).
Status augment_batch(Tensor* batch, Layout layout, const Augment& aug, float fill, Rng& rng);

// ---- parsing helpers for CLI flags --------------------------------------------------------------

// "0.5" or "0.485,0.456,0.406" -> floats. `flag` names the option in errors.
Result<std::vector<float>> parse_float_list(const std::string& s, const std::string& flag);
// "224", "224x192" or "224,192" -> {224} / {224,192}; positive.
Result<std::vector<int64_t>> parse_size(const std::string& s, const std::string& flag);
// "0.0039", "1/255" -> float.
Result<float> parse_scale(const std::string& s, const std::string& flag);
// "nchw" | "nhwc" (any case).
Result<Layout> parse_layout(const std::string& s);

}  // namespace qat::data
