#include "data/dataset.h"

#include <cstdlib>

#include "core/file_util.h"
#include "data/io_util.h"
#include "data/memory_dataset.h"

namespace qat::data {

const char* split_name(Split s) { return s == Split::kTrain ? "train" : "test"; }

Result<Split> parse_split(const std::string& s) {
    std::string v = detail::to_lower(s);
    if (v == "train") return Split::kTrain;
    if (v == "test" || v == "val" || v == "t10k") return Split::kTest;
    return invalid_argument("unknown split '", s, "' (expected train or test)");
}

const std::vector<std::string>& Dataset::class_names() const { return class_names_; }

std::string Dataset::sample_name(int64_t index) const { return "sample " + std::to_string(index); }

const char* data_kind_name(DataKind k) {
    switch (k) {
        case DataKind::kFashionMnist:
            return "fashion-mnist";
        case DataKind::kIdx:
            return "idx";
        case DataKind::kCifar:
            return "cifar";
        case DataKind::kFolder:
            return "folder";
        case DataKind::kNpy:
            return "npy";
    }
    return "?";
}

std::string DataSpec::to_string() const {
    if (kind == DataKind::kFashionMnist) return path.empty() ? "fashion-mnist" : "fashion-mnist:" + path;
    std::string s = std::string(data_kind_name(kind)) + ":" + path;
    if (!labels_path.empty()) s += "," + labels_path;
    return s;
}

Result<DataSpec> parse_data_spec(const std::string& s) {
    constexpr const char* kForms = "fashion-mnist, idx:DIR, cifar:DIR, folder:DIR or npy:FILE[,LABELS.npy]";
    if (s.empty()) return invalid_argument("empty --data (expected ", kForms, ")");
    DataSpec spec;
    size_t colon = s.find(':');
    std::string kind = detail::to_lower(s.substr(0, colon));
    std::string rest = colon == std::string::npos ? "" : s.substr(colon + 1);
    if (kind == "fashion-mnist" || kind == "fashion_mnist" || kind == "fashionmnist") {
        spec.kind = DataKind::kFashionMnist;
        spec.path = rest;  // optional: fashion-mnist:DIR overrides the default location
        return spec;
    }
    if (kind == "idx") {
        spec.kind = DataKind::kIdx;
    } else if (kind == "cifar" || kind == "cifar10" || kind == "cifar100" || kind == "cifar-10" ||
               kind == "cifar-100") {
        spec.kind = DataKind::kCifar;
    } else if (kind == "folder" || kind == "dir") {
        spec.kind = DataKind::kFolder;
    } else if (kind == "npy") {
        spec.kind = DataKind::kNpy;
    } else if (colon == std::string::npos) {
        return invalid_argument("unknown --data '", s, "' (expected ", kForms, ")");
    } else {
        return invalid_argument("unknown data kind '", s.substr(0, colon), "' in --data '", s, "' (expected ", kForms,
                                ")");
    }
    if (rest.empty()) return invalid_argument("--data '", s, "' names no path (expected ", kForms, ")");
    if (spec.kind == DataKind::kNpy) {
        // A comma separates the labels file; paths with commas are not supported in this form.
        size_t comma = rest.find(',');
        spec.path = rest.substr(0, comma);
        if (comma != std::string::npos) {
            spec.labels_path = rest.substr(comma + 1);
            if (spec.labels_path.empty())
                return invalid_argument("--data '", s, "' has an empty labels file after ','");
            if (spec.labels_path.find(',') != std::string::npos)
                return invalid_argument("--data '", s, "' has more than one ',' (expected npy:FILE[,LABELS.npy])");
        }
        if (spec.path.empty()) return invalid_argument("--data '", s, "' names no .npy file");
    } else {
        spec.path = rest;
    }
    return spec;
}

std::string fashion_mnist_dir() {
    if (const char* env = std::getenv("QAT_FASHION_MNIST_DIR"); env && *env) return env;
    return "/usr/share/datasets/fashion-mnist";
}

const std::vector<std::string>& fashion_mnist_class_names() {
    static const std::vector<std::string> kNames = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return kNames;
}

const std::vector<std::string>& cifar10_class_names() {
    static const std::vector<std::string> kNames = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                    "dog",      "frog",       "horse", "ship", "truck"};
    return kNames;
}

Result<DatasetPtr> open_dataset(const DataSpec& spec, Split split, const OpenOptions& options) {
    Result<DatasetPtr> r = [&]() -> Result<DatasetPtr> {
        switch (spec.kind) {
            case DataKind::kFashionMnist: {
                std::string dir = spec.path.empty() ? fashion_mnist_dir() : spec.path;
                if (!is_directory(dir))
                    return not_found("Fashion-MNIST not found in ", dir,
                                     " (install Debian's dataset-fashion-mnist package, or pass --data idx:DIR)");
                return open_idx_dir(dir, split, "fashion-mnist");
            }
            case DataKind::kIdx:
                return open_idx_dir(spec.path, split, "idx");
            case DataKind::kCifar:
                return open_cifar(spec.path, split);
            case DataKind::kFolder:
                return open_image_folder(spec.path, split, options);
            case DataKind::kNpy:
                return open_npy(spec.path, spec.labels_path);
        }
        return internal_error("unhandled data kind");
    }();
    if (!r.ok()) return std::move(r).with_context("while opening --data " + spec.to_string());
    return r;
}

Result<DatasetPtr> open_dataset(const std::string& spec, Split split, const OpenOptions& options) {
    QAT_ASSIGN_OR_RETURN(DataSpec s, parse_data_spec(spec));
    return open_dataset(s, split, options);
}

// ---- MemoryDataset ----------------------------------------------------------------------------

namespace detail {

std::string sample_desc(DataType t, const std::vector<int64_t>& dims) {
    std::string s = std::string(dtype_name(t)) + "[";
    for (size_t i = 0; i < dims.size(); ++i) {
        if (i) s += ",";
        s += dims[i] < 0 ? "?" : std::to_string(dims[i]);
    }
    return s + "]";
}

MemoryDataset::MemoryDataset(std::string description_prefix, std::string source, Tensor data,
                             std::vector<int64_t> labels, int64_t num_classes, std::vector<std::string> class_names)
    : prefix_(std::move(description_prefix)),
      source_(std::move(source)),
      data_(std::move(data)),
      labels_(std::move(labels)),
      num_classes_(num_classes) {
    class_names_ = std::move(class_names);
    QAT_ASSERT(data_.rank() >= 1, "MemoryDataset needs an [N, ...] tensor");
    n_ = data_.dim(0);
    sample_dims_.assign(data_.dims().begin() + 1, data_.dims().end());
    sample_bytes_ = static_cast<size_t>(numel_of(sample_dims_)) * dtype_size(data_.dtype());
    QAT_ASSERT(labels_.empty() || static_cast<int64_t>(labels_.size()) == n_, "label count");
}

Status MemoryDataset::get(int64_t index, Tensor* sample, int64_t* label) const {
    if (index < 0 || index >= n_) return out_of_range("sample index ", index, " outside [0, ", n_, ") of ", prefix_);
    auto* base = static_cast<char*>(const_cast<void*>(data_.raw_data()));
    // A view: no copy, and the storage stays alive through the aliasing shared_ptr.
    std::shared_ptr<void> view(data_.storage(), base + static_cast<size_t>(index) * sample_bytes_);
    *sample = Tensor::from_storage(data_.dtype(), sample_dims_, std::move(view));
    if (label) *label = labels_.empty() ? -1 : labels_[static_cast<size_t>(index)];
    return OkStatus();
}

int64_t MemoryDataset::label(int64_t index) const {
    if (labels_.empty() || index < 0 || index >= n_) return -1;
    return labels_[static_cast<size_t>(index)];
}

std::string MemoryDataset::sample_name(int64_t index) const { return source_ + " sample " + std::to_string(index); }

std::string MemoryDataset::description() const {
    std::string s = prefix_ + ": " + std::to_string(n_) + " samples " + sample_desc(data_.dtype(), sample_dims_);
    if (num_classes_ > 0)
        s += ", " + std::to_string(num_classes_) + " classes";
    else
        s += ", unlabeled";
    return s;
}

}  // namespace detail

// ---- subset -----------------------------------------------------------------------------------

namespace {

class SubsetDataset : public Dataset {
  public:
    SubsetDataset(DatasetPtr base, std::vector<int64_t> indices) : base_(std::move(base)), idx_(std::move(indices)) {
        class_names_ = base_->class_names();
    }
    int64_t size() const override { return static_cast<int64_t>(idx_.size()); }
    std::vector<int64_t> sample_dims() const override { return base_->sample_dims(); }
    DataType sample_dtype() const override { return base_->sample_dtype(); }
    Status get(int64_t index, Tensor* sample, int64_t* label) const override {
        if (index < 0 || index >= size())
            return out_of_range("sample index ", index, " outside [0, ", size(), ") of a subset");
        return base_->get(idx_[static_cast<size_t>(index)], sample, label);
    }
    int64_t label(int64_t index) const override {
        if (index < 0 || index >= size()) return -1;
        return base_->label(idx_[static_cast<size_t>(index)]);
    }
    int64_t num_classes() const override { return base_->num_classes(); }
    std::string sample_name(int64_t index) const override {
        if (index < 0 || index >= size()) return "sample " + std::to_string(index);
        return base_->sample_name(idx_[static_cast<size_t>(index)]);
    }
    std::string description() const override {
        return base_->description() + " (subset of " + std::to_string(idx_.size()) + ")";
    }

  private:
    DatasetPtr base_;
    std::vector<int64_t> idx_;
};

}  // namespace

Result<DatasetPtr> make_subset(DatasetPtr base, std::vector<int64_t> indices) {
    QAT_ASSERT(base != nullptr, "make_subset of a null data set");
    for (size_t i = 0; i < indices.size(); ++i)
        if (indices[i] < 0 || indices[i] >= base->size())
            return out_of_range("subset index ", indices[i], " (entry ", i, ") outside [0, ", base->size(), ") of ",
                                base->description());
    return DatasetPtr(std::make_shared<SubsetDataset>(std::move(base), std::move(indices)));
}

// ---- checks -----------------------------------------------------------------------------------

namespace {
std::string dims_str(const std::vector<int64_t>& d) { return detail::sample_desc(DataType::kFloat32, d).substr(3); }
}  // namespace

Status check_input_shape(const std::vector<int64_t>& sample_dims, const Shape& input_shape,
                         const std::string& input_name, int64_t batch_size) {
    if (!input_shape.rank_known()) return OkStatus();  // nothing to check against
    auto mismatch = [&](const std::string& hint) {
        std::string msg = "data gives " + dims_str(sample_dims) + " per sample, model input '" + input_name +
                          "' expects " + input_shape.to_string();
        if (!hint.empty()) msg += " (" + hint + ")";
        return invalid_argument(msg);
    };
    if (input_shape.rank() != sample_dims.size() + 1) {
        std::string hint;
        if (input_shape.rank() == sample_dims.size())
            hint = "the model input has no batch dimension, or the data has one too many";
        return mismatch(hint);
    }
    std::vector<size_t> bad;
    for (size_t i = 0; i < sample_dims.size(); ++i) {
        const Dim& d = input_shape[i + 1];
        if (d.is_static() && d.value != sample_dims[i]) bad.push_back(i);
    }
    if (!bad.empty()) {
        std::string hint;
        if (sample_dims.size() == 3) {
            const auto& m = input_shape.dims();
            auto is = [&](size_t i, int64_t v) { return m[i].is_static() && m[i].value == v; };
            bool nhwc_model = is(3, sample_dims[0]) && is(1, sample_dims[1]) && is(2, sample_dims[2]);
            bool nchw_model = is(1, sample_dims[2]) && is(2, sample_dims[0]) && is(3, sample_dims[1]);
            if (sample_dims[0] == 1 && is(1, 3) && is(2, sample_dims[1]) && is(3, sample_dims[2]))
                hint = "grayscale data for an RGB model: use to_rgb";
            else if (sample_dims[0] == 3 && is(1, 1))
                hint = "RGB data for a grayscale model";
            else if (nhwc_model)
                hint = "the model takes NHWC: use layout NHWC";
            else if (nchw_model)
                hint = "the model takes NCHW: use layout NCHW";
            else if (bad.size() <= 2 && bad[0] >= 1)
                hint = "resize or crop the images to the model's size";
        }
        return mismatch(hint);
    }
    const Dim& b = input_shape[0];
    if (batch_size > 0 && b.is_static() && b.value != batch_size)
        return invalid_argument("model input '", input_name, "' has a fixed batch of ", b.value, " (shape ",
                                input_shape.to_string(), "), but the data is read in batches of ", batch_size,
                                ": use a batch size of ", b.value);
    return OkStatus();
}

Status check_labels(const Dataset& ds, int64_t num_classes) {
    if (ds.size() == 0) return invalid_argument("empty data set: ", ds.description());
    if (!ds.has_labels()) return invalid_argument("data set has no labels: ", ds.description());
    QAT_ASSERT(num_classes > 0, "check_labels with ", num_classes, " classes");
    for (int64_t i = 0; i < ds.size(); ++i) {
        int64_t l = ds.label(i);
        if (l < 0 || l >= num_classes)
            return out_of_range("label ", l, " of sample ", i, " (", ds.sample_name(i), ") is out of range for a ",
                                num_classes, "-class model (expected 0..", num_classes - 1, ")");
    }
    return OkStatus();
}

}  // namespace qat::data
