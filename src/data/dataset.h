// Data sets for calibration, training and evaluation: IDX (MNIST / Fashion-MNIST), CIFAR-10/100
// binary batches, folders of PNG/JPEG images (one sub-folder per class) and .npy tensors.
//
// A Dataset is an indexable, read-only collection of (sample, label) pairs. Samples come out
// raw, as the source stores them: uint8 pixels [C,H,W] in 0..255 for image sources, or the
// .npy array's rows (float32 or uint8, any rank). Preprocessing (scale, mean/std, resize, crop,
// layout) is data/transforms.h; batching, shuffling and prefetching are data/loader.h.
//
//   QAT_ASSIGN_OR_RETURN(auto ds, data::open_dataset("fashion-mnist", data::Split::kTest));
//   ds->size();                 // 10000
//   ds->sample_dims();          // [1,28,28]
//   Tensor img; int64_t label;
//   QAT_RETURN_IF_ERROR(ds->get(17, &img, &label));   // img: u8[1,28,28]
//
//   // `--data` / `--split` / `--calib-samples` / `--seed` of the CLI:
//   QAT_ASSIGN_OR_RETURN(auto spec, data::parse_data_spec(flag));   // "cifar:/data/cifar10"
//   QAT_ASSIGN_OR_RETURN(auto ds, data::open_dataset(spec, split));
//   auto calib = data::make_subset(ds, data::select_subset(ds->size(), n, seed));
//
// get() is const and safe to call from several threads at once (the loader's background thread
// and the caller), so that every source keeps its state read-only after opening.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"

namespace qat::data {

enum class Split { kTrain, kTest };
const char* split_name(Split s);
// "train" | "test" ("val" and "t10k" are accepted as test).
Result<Split> parse_split(const std::string& s);

class Dataset {
  public:
    virtual ~Dataset() = default;

    virtual int64_t size() const = 0;
    // Dims of one raw sample: [C,H,W] for images (rank 3), the .npy row shape otherwise. For a
    // folder whose images differ in size, H and W are -1 (a resize or crop must fix them).
    virtual std::vector<int64_t> sample_dims() const = 0;
    // kUint8 (image pixels 0..255) or kFloat32.
    virtual DataType sample_dtype() const = 0;
    // Reads sample `index` (0 <= index < size()) into *sample (dtype sample_dtype(), dims of this
    // sample) and its label into *label (-1 when the set has no labels; label may be null).
    // *sample may become a read-only view of the data set's own memory (valid while the data set
    // lives, never written through); sources that decode on demand give it a fresh buffer.
    virtual Status get(int64_t index, Tensor* sample, int64_t* label) const = 0;
    // Label of sample `index` without reading the sample; -1 when the set has no labels.
    virtual int64_t label(int64_t index) const = 0;
    bool has_labels() const { return num_classes() > 0; }
    // Number of classes (0 when unlabeled): fixed by the format (10 for Fashion-MNIST and
    // CIFAR-10, 100 for CIFAR-100), the class sub-folders, or max label + 1 for IDX / .npy.
    virtual int64_t num_classes() const = 0;
    // Class names, index = label (empty when the format names none).
    virtual const std::vector<std::string>& class_names() const;
    // Where sample `index` comes from, for error messages: "DIR/cat/001.png",
    // "t10k-images-idx3-ubyte.gz sample 17".
    virtual std::string sample_name(int64_t index) const;
    // One line: "fashion-mnist test: 10000 samples u8[1,28,28], 10 classes".
    virtual std::string description() const = 0;

  protected:
    std::vector<std::string> class_names_;
};

using DatasetPtr = std::shared_ptr<const Dataset>;

// ---- the --data string ----------------------------------------------------------------------

enum class DataKind { kFashionMnist, kIdx, kCifar, kFolder, kNpy };
const char* data_kind_name(DataKind k);

struct DataSpec {
    DataKind kind = DataKind::kFashionMnist;
    std::string path;               // DIR or FILE (empty for fashion-mnist: the default location)
    std::string labels_path;        // npy only: the optional LABELS.npy
    std::string to_string() const;  // back to the --data form
};

// Parses `fashion-mnist`, `idx:DIR`, `cifar:DIR`, `folder:DIR`, `npy:FILE[,LABELS.npy]`.
// Unknown kinds and empty paths are errors naming the string; no file is touched.
Result<DataSpec> parse_data_spec(const std::string& s);

struct OpenOptions {
    // Folder images are decoded once while opening (a file that fails to decode is skipped there,
    // not in the middle of an epoch). Decoded pixels up to this many bytes stay in memory; beyond
    // it, images are decoded again on each get().
    int64_t folder_cache_bytes = int64_t{1} << 30;
    // Threads for decoding folders at open (0: hardware concurrency).
    int folder_threads = 0;
};

// Opens the data set that `spec` names, for `split` (ignored by npy, which has one split).
Result<DatasetPtr> open_dataset(const DataSpec& spec, Split split, const OpenOptions& options = {});
Result<DatasetPtr> open_dataset(const std::string& spec, Split split, const OpenOptions& options = {});

// Where `fashion-mnist` looks: $QAT_FASHION_MNIST_DIR, else Debian's dataset-fashion-mnist
// package (/usr/share/datasets/fashion-mnist).
std::string fashion_mnist_dir();
// "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
// "Ankle boot".
const std::vector<std::string>& fashion_mnist_class_names();
// "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck".
const std::vector<std::string>& cifar10_class_names();

// ---- the sources, for callers that do not go through a --data string ------------------------

// IDX image + label files (gzip or raw, found by their magic): images u8 [N,H,W] (or [N,C,H,W],
// or [N,D]), labels u8 [N]. labels_path may be empty (unlabeled). `name` prefixes description().
Result<DatasetPtr> open_idx_files(const std::string& images_path, const std::string& labels_path,
                                  const std::string& name = "idx");
// The IDX pair for `split` in DIR: files whose names contain "images"/"labels" and "train" or
// "t10k"/"test" (train-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte, ...).
Result<DatasetPtr> open_idx_dir(const std::string& dir, Split split, const std::string& name = "idx");
// CIFAR-10 (data_batch_1..5.bin / test_batch.bin) or CIFAR-100 (train.bin / test.bin, fine
// labels) binary batches in DIR, or in DIR/cifar-10-batches-bin, DIR/cifar-100-binary.
Result<DatasetPtr> open_cifar(const std::string& dir, Split split);
// DIR/<class>/<image>.{png,jpg,jpeg}; classes sorted by name. For a split, DIR/train or DIR/test
// (DIR/val) when DIR has such sub-folders, else DIR itself.
Result<DatasetPtr> open_image_folder(const std::string& dir, Split split, const OpenOptions& options = {});
// N x ... array (first dim = sample); optional integer labels [N].
Result<DatasetPtr> open_npy(const std::string& path, const std::string& labels_path = "");

// ---- views ------------------------------------------------------------------------------------

// The samples `indices` of `base`, in that order (indices may repeat). Indices are checked.
Result<DatasetPtr> make_subset(DatasetPtr base, std::vector<int64_t> indices);

// ---- checks against a model -------------------------------------------------------------------

// Checks that samples of `sample_dims` (after preprocessing, in the model's layout) feed a model
// input of `input_shape` (batch dim first, static or symbolic) with batches of `batch_size`:
//   data gives [1,28,28] per sample, model input 'input' expects [N,3,32,32]
// with a hint when a transform would fix it (to_rgb, layout, crop). A static batch dim must
// equal batch_size (pass 0 to skip that check).
Status check_input_shape(const std::vector<int64_t>& sample_dims, const Shape& input_shape,
                         const std::string& input_name, int64_t batch_size = 0);
// Checks every label of `ds` against a `num_classes`-way model output; names the first bad
// sample: "label 12 of sample 345 (DIR/x/1.png) is out of range for a 10-class model".
// Also fails on an empty or unlabeled data set.
Status check_labels(const Dataset& ds, int64_t num_classes);

}  // namespace qat::data
