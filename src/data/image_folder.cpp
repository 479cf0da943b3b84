// `folder:DIR`: DIR/<class>/<image>.{png,jpg,jpeg} (torchvision's ImageFolder layout). Every
// image is decoded once while opening, so that a file that fails to decode is skipped there with
// a warning rather than failing an epoch half-way; decoded pixels stay in memory up to a budget.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <thread>

#include "core/file_util.h"
#include "core/logging.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "data/io_util.h"
#include "data/memory_dataset.h"

namespace qat::data {
namespace {

bool is_image_name(const std::string& name) {
    std::string n = detail::to_lower(name);
    return detail::ends_with(n, ".png") || detail::ends_with(n, ".jpg") || detail::ends_with(n, ".jpeg");
}

// HWC pixels of `img` -> CHW with `channels` channels (a grey image is repeated into RGB).
void to_chw(const Image& img, int64_t channels, uint8_t* dst) {
    const int64_t hw = img.height * img.width;
    const uint8_t* src = img.pixels.data();
    if (img.channels == 1) {
        for (int64_t c = 0; c < channels; ++c) std::memcpy(dst + c * hw, src, static_cast<size_t>(hw));
        return;
    }
    for (int64_t i = 0; i < hw; ++i)
        for (int64_t c = 0; c < 3; ++c) dst[c * hw + i] = src[i * 3 + c];
}

struct Entry {
    std::string path;
    int64_t label = 0;
    int64_t height = 0, width = 0, channels = 0;
    Tensor cached;  // u8 [C,H,W] with the data set's C, or undefined when not kept
};

class ImageFolderDataset : public Dataset {
  public:
    ImageFolderDataset(std::string root, std::string name, std::vector<Entry> entries, std::vector<std::string> classes,
                       int64_t channels, int64_t skipped)
        : root_(std::move(root)),
          name_(std::move(name)),
          entries_(std::move(entries)),
          channels_(channels),
          skipped_(skipped) {
        class_names_ = std::move(classes);
        height_ = entries_[0].height;
        width_ = entries_[0].width;
        for (const auto& e : entries_) {
            if (e.height != height_) height_ = -1;
            if (e.width != width_) width_ = -1;
        }
    }

    int64_t size() const override { return static_cast<int64_t>(entries_.size()); }
    std::vector<int64_t> sample_dims() const override { return {channels_, height_, width_}; }
    DataType sample_dtype() const override { return DataType::kUint8; }
    int64_t num_classes() const override { return static_cast<int64_t>(class_names_.size()); }
    int64_t label(int64_t index) const override {
        return index < 0 || index >= size() ? -1 : entries_[static_cast<size_t>(index)].label;
    }
    std::string sample_name(int64_t index) const override {
        return index < 0 || index >= size() ? "sample " + std::to_string(index)
                                            : entries_[static_cast<size_t>(index)].path;
    }
    std::string description() const override {
        std::string s = name_ + ": " + std::to_string(size()) + " images " +
                        detail::sample_desc(DataType::kUint8, sample_dims()) + ", " + std::to_string(num_classes()) +
                        " classes";
        if (skipped_) s += ", " + std::to_string(skipped_) + " undecodable files skipped";
        return s;
    }

    Status get(int64_t index, Tensor* sample, int64_t* label) const override {
        if (index < 0 || index >= size())
            return out_of_range("sample index ", index, " outside [0, ", size(), ") of ", name_);
        const Entry& e = entries_[static_cast<size_t>(index)];
        if (label) *label = e.label;
        if (e.cached.defined()) {
            *sample = e.cached;  // shares the buffer; callers only read it
            return OkStatus();
        }
        QAT_ASSIGN_OR_RETURN(Image img, decode_image_file(e.path));
        if (img.height != e.height || img.width != e.width || img.channels > channels_)
            return invalid_argument(e.path, " changed since the data set was opened");
        Tensor t = Tensor::empty(DataType::kUint8, {channels_, img.height, img.width});
        to_chw(img, channels_, t.data<uint8_t>());
        *sample = std::move(t);
        return OkStatus();
    }

  private:
    std::string root_, name_;
    std::vector<Entry> entries_;
    int64_t channels_ = 3, height_ = -1, width_ = -1;
    int64_t skipped_ = 0;
};

// DIR/train, DIR/test (or DIR/val) when DIR is split, else DIR.
Result<std::string> split_dir(const std::string& dir, Split split) {
    bool has_train = is_directory(dir + "/train");
    bool has_test = is_directory(dir + "/test");
    bool has_val = is_directory(dir + "/val");
    if (!has_train && !has_test && !has_val) return dir;
    if (split == Split::kTrain) {
        if (has_train) return dir + "/train";
        return not_found(dir, " has a ", has_test ? "test/" : "val/", " sub-folder but no train/ split");
    }
    if (has_test) return dir + "/test";
    if (has_val) return dir + "/val";
    return not_found(dir, " has a train/ sub-folder but no test/ (or val/) split");
}

}  // namespace

Result<DatasetPtr> open_image_folder(const std::string& dir, Split split, const OpenOptions& options) {
    if (!file_exists(dir)) return not_found("image folder not found: ", dir);
    if (!is_directory(dir)) return invalid_argument(dir, " is not a folder (folder:DIR expects DIR/<class>/<image>)");
    QAT_ASSIGN_OR_RETURN(std::string root, split_dir(dir, split));
    QAT_ASSIGN_OR_RETURN(auto top, detail::list_dir(root));

    std::vector<std::string> classes;
    std::vector<Entry> entries;
    int64_t loose_images = 0;
    for (const auto& c : top) {
        if (!c.is_dir) {
            loose_images += is_image_name(c.name) ? 1 : 0;
            continue;
        }
        QAT_ASSIGN_OR_RETURN(auto files, detail::list_dir(c.path));
        int64_t label = static_cast<int64_t>(classes.size());
        classes.push_back(c.name);
        int64_t n = 0;
        for (const auto& f : files) {
            if (f.is_dir || !is_image_name(f.name)) continue;
            Entry e;
            e.path = f.path;
            e.label = label;
            entries.push_back(std::move(e));
            ++n;
        }
        if (n == 0) {
            QAT_LOG(kWarning) << "class folder " << c.path << " has no .png/.jpg/.jpeg images";
        }
    }
    if (classes.empty()) {
        if (loose_images > 0)
            return invalid_argument(root, " holds images but no class sub-folders (expected ", root,
                                    "/<class>/<image>.png)");
        return invalid_argument("no class sub-folders in ", root, " (expected ", root, "/<class>/<image>.png)");
    }
    if (entries.empty())
        return invalid_argument("empty data set: no .png/.jpg/.jpeg images in the class folders of ", root);
    if (loose_images > 0) {
        QAT_LOG(kWarning) << "ignored " << loose_images << " images directly in " << root << " (not in a class folder)";
    }

    // Decode everything once, in parallel: validates each file and fills the cache.
    std::vector<std::string> errors(entries.size());
    // Decoded pixels are kept as CHW with the image's own channel count (so the workers need not
    // know the set's); grey images are expanded once all are decoded and the set is known RGB.
    std::atomic<size_t> next{0};
    std::atomic<int64_t> cache_used{0};
    auto work = [&]() {
        for (size_t i = next++; i < entries.size(); i = next++) {
            auto img = decode_image_file(entries[i].path);
            if (!img.ok()) {
                errors[i] = img.status().message();
                continue;
            }
            entries[i].height = img->height;
            entries[i].width = img->width;
            entries[i].channels = img->channels;
            // Budget the RGB size: a grey image is expanded when the set is RGB.
            int64_t bytes = img->height * img->width * 3;
            if (cache_used.fetch_add(bytes) + bytes <= options.folder_cache_bytes) {
                entries[i].cached = Tensor::empty(DataType::kUint8, {img->channels, img->height, img->width});
                to_chw(*img, img->channels, entries[i].cached.data<uint8_t>());
            }
        }
    };
    unsigned threads = options.folder_threads > 0 ? static_cast<unsigned>(options.folder_threads)
                                                  : std::max(1u, std::thread::hardware_concurrency());
    threads = std::min<unsigned>(threads, static_cast<unsigned>(entries.size()));
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();

    int64_t channels = 1;
    std::vector<Entry> ok;
    int64_t failed = 0;
    std::string first_error;
    for (size_t i = 0; i < entries.size(); ++i) {
        if (!errors[i].empty()) {
            if (failed++ == 0) first_error = errors[i];
            continue;
        }
        channels = std::max(channels, entries[i].channels);
    }
    if (failed == static_cast<int64_t>(entries.size()))
        return invalid_argument("none of the ", failed, " images in ", root, " could be decoded (first: ", first_error,
                                ")");
    if (failed > 0) {
        QAT_LOG(kWarning) << "skipped " << failed << " of " << entries.size() << " images in " << root
                          << " that failed to decode (first: " << first_error << ")";
    }
    for (size_t i = 0; i < entries.size(); ++i) {
        if (!errors[i].empty()) continue;
        Entry e = std::move(entries[i]);
        if (e.cached.defined() && e.channels != channels) {  // grey in an RGB set
            Tensor rgb = Tensor::empty(DataType::kUint8, {channels, e.height, e.width});
            const size_t plane = static_cast<size_t>(e.height * e.width);
            for (int64_t c = 0; c < channels; ++c)
                std::memcpy(rgb.data<uint8_t>() + c * plane, e.cached.data<uint8_t>(), plane);
            e.cached = std::move(rgb);
        }
        ok.push_back(std::move(e));
    }
    std::string name = "folder " + root;
    return DatasetPtr(
        std::make_shared<ImageFolderDataset>(root, name, std::move(ok), std::move(classes), channels, failed));
}

}  // namespace qat::data
