// qat public API: data sets, for calibration (qat/quantize.h), evaluation (qat/engine.h) and
// feeding an engine by hand. A DataSpec names the set the way the `qat` command's --data does,
// plus the split, the sample count and the preprocessing that turns raw samples into the
// model's float input.
//
//   qat::api::DataSpec d;
//   d.source = "fashion-mnist";   // or "idx:DIR", "cifar:DIR", "folder:DIR", "npy:FILE[,LABELS.npy]"
//   d.split = "test";
//   d.samples = 8;                 // drawn at random with d.seed; 0: the whole split
//   auto s = qat::api::load_samples(d);
//   if (s.ok()) ... s->images (f32 [8,1,28,28], pixels / 255), s->labels[i] ...
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qat/status.h"
#include "qat/tensor.h"

namespace qat::api {

struct DataSpec {
    // fashion-mnist (Debian's dataset-fashion-mnist, or $QAT_FASHION_MNIST_DIR), idx:DIR,
    // cifar:DIR, folder:DIR (one sub-folder per class), npy:FILE[,LABELS.npy].
    std::string source = "fashion-mnist";
    std::string split = "train";  // "train" or "test" (npy sets have one split)
    int64_t samples = 512;        // drawn at random with `seed` (the same pick as qat calibrate); 0: all
    uint64_t seed = 0;
    // Preprocessing: x * scale, then (x - mean) / std per channel. scale < 0: the set's default
    // (1/255 for pixels, 1 for float .npy data).
    float scale = -1.0f;
    std::vector<float> mean;
    std::vector<float> std;
    std::string layout = "NCHW";  // or "NHWC"
    bool to_rgb = false;          // repeat a grey channel into 3
};

struct Samples {
    FloatTensor images;                    // [n, ...] preprocessed, batch first
    std::vector<int64_t> labels;           // one per sample; -1 for an unlabeled set
    int64_t num_classes = 0;               // 0 for an unlabeled set
    std::vector<std::string> class_names;  // index = label (empty when the set names none)
    std::string description;               // "fashion-mnist test: 8 samples"
};

// Reads the samples `data` names, preprocessed. Errors name the source, the split or the file.
Result<Samples> load_samples(const DataSpec& data);

}  // namespace qat::api
