// IDX files (LeCun's MNIST format, also Fashion-MNIST, KMNIST, EMNIST): a 4-byte magic
// (0, 0, element type, number of dims), the dims as big-endian uint32, then the elements.
#include <algorithm>
#include <memory>

#include "core/file_util.h"
#include "data/dataset.h"
#include "data/io_util.h"
#include "data/memory_dataset.h"

namespace qat::data {
namespace {

const char* idx_type_name(unsigned t) {
    switch (t) {
        case 0x08:
            return "unsigned byte";
        case 0x09:
            return "signed byte";
        case 0x0B:
            return "short";
        case 0x0C:
            return "int";
        case 0x0D:
            return "float";
        case 0x0E:
            return "double";
        default:
            return nullptr;
    }
}

struct IdxArray {
    std::shared_ptr<std::string> bytes;  // the whole (inflated) file
    size_t offset = 0;                   // of the first element
    std::vector<int64_t> dims;
};

Result<IdxArray> read_idx(const std::string& path) {
    QAT_ASSIGN_OR_RETURN(std::string raw, detail::read_maybe_gzip(path));
    auto bytes = std::make_shared<std::string>(std::move(raw));
    const auto* b = reinterpret_cast<const unsigned char*>(bytes->data());
    size_t n = bytes->size();
    if (n < 4 || b[0] != 0 || b[1] != 0 || !idx_type_name(b[2]) || b[3] == 0)
        return invalid_argument(path, " is not an IDX file (bad magic number)");
    if (b[2] != 0x08)
        return unsupported(path, ": IDX element type ", idx_type_name(b[2]), " is not supported (only unsigned byte)");
    unsigned ndim = b[3];
    size_t header = 4 + 4 * static_cast<size_t>(ndim);
    if (n < header)
        return invalid_argument(path, ": truncated IDX header (", n, " bytes, ", ndim, " dims need ", header, ")");
    IdxArray a;
    int64_t count = 1;
    for (unsigned i = 0; i < ndim; ++i) {
        const unsigned char* p = b + 4 + 4 * i;
        int64_t d = (int64_t{p[0]} << 24) | (int64_t{p[1]} << 16) | (int64_t{p[2]} << 8) | int64_t{p[3]};
        a.dims.push_back(d);
        count *= d;
        if (count > (int64_t{1} << 40))
            return invalid_argument(path, ": IDX dims ", dims_to_string(a.dims), " are implausibly large");
    }
    size_t want = header + static_cast<size_t>(count);
    if (n < want)
        return invalid_argument(path, ": truncated IDX file: dims ", dims_to_string(a.dims), " need ", want,
                                " bytes, the file has ", n);
    if (n > want)
        return invalid_argument(path, ": IDX file has ", n - want, " bytes after the ", dims_to_string(a.dims),
                                " data");
    a.bytes = std::move(bytes);
    a.offset = header;
    return a;
}

std::string base_name(const std::string& path) {
    size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Result<DatasetPtr> open_idx_files(const std::string& images_path, const std::string& labels_path,
                                  const std::string& name) {
    QAT_ASSIGN_OR_RETURN(IdxArray img, read_idx(images_path));
    if (img.dims.size() < 2)
        return invalid_argument(images_path, ": expected an IDX image file ([N,H,W]), got dims ",
                                dims_to_string(img.dims), img.dims.size() == 1 ? " (is this a labels file?)" : "");
    if (img.dims[0] == 0) return invalid_argument(images_path, ": empty data set (0 images)");
    std::vector<int64_t> dims = img.dims;
    if (dims.size() == 3) dims.insert(dims.begin() + 1, 1);  // [N,H,W] -> [N,1,H,W]: one channel
    std::shared_ptr<void> storage(img.bytes, img.bytes->data() + img.offset);
    Tensor data = Tensor::from_storage(DataType::kUint8, dims, std::move(storage));

    std::vector<int64_t> labels;
    int64_t num_classes = 0;
    if (!labels_path.empty()) {
        QAT_ASSIGN_OR_RETURN(IdxArray lab, read_idx(labels_path));
        if (lab.dims.size() != 1)
            return invalid_argument(labels_path, ": expected an IDX label file ([N]), got dims ",
                                    dims_to_string(lab.dims), " (is this an images file?)");
        if (lab.dims[0] != img.dims[0])
            return invalid_argument(labels_path, " has ", lab.dims[0], " labels but ", images_path, " has ",
                                    img.dims[0], " images");
        labels.resize(static_cast<size_t>(lab.dims[0]));
        const auto* p = reinterpret_cast<const unsigned char*>(lab.bytes->data()) + lab.offset;
        int64_t max_label = 0;
        for (size_t i = 0; i < labels.size(); ++i) {
            labels[i] = p[i];
            max_label = std::max(max_label, labels[i]);
        }
        num_classes = max_label + 1;
    }
    std::vector<std::string> class_names;
    if (name.rfind("fashion-mnist", 0) == 0) {  // "fashion-mnist" or "fashion-mnist train"
        if (num_classes > 10)
            return out_of_range(labels_path, ": Fashion-MNIST label ", num_classes - 1, " is out of range 0..9");
        if (!labels_path.empty()) num_classes = 10;
        class_names = fashion_mnist_class_names();
    }
    return DatasetPtr(std::make_shared<detail::MemoryDataset>(name, base_name(images_path), std::move(data),
                                                              std::move(labels), num_classes, std::move(class_names)));
}

Result<DatasetPtr> open_idx_dir(const std::string& dir, Split split, const std::string& name) {
    QAT_ASSIGN_OR_RETURN(auto entries, detail::list_dir(dir));
    // Picks the one file for (split, kind); "x" and "x.gz" count as the same file (raw preferred).
    auto find = [&](bool images) -> Result<std::string> {
        std::vector<const detail::DirEntry*> hits;
        for (const auto& e : entries) {
            if (e.is_dir) continue;
            std::string n = detail::to_lower(e.name);
            bool split_ok = split == Split::kTrain ? detail::contains(n, "train")
                                                   : (detail::contains(n, "t10k") || detail::contains(n, "test"));
            bool kind_ok = images ? (detail::contains(n, "images") || detail::contains(n, "idx3"))
                                  : (detail::contains(n, "labels") || detail::contains(n, "idx1"));
            if (split_ok && kind_ok) hits.push_back(&e);
        }
        auto stem = [](const std::string& s) { return detail::ends_with(s, ".gz") ? s.substr(0, s.size() - 3) : s; };
        if (hits.empty())
            return not_found("no IDX ", split_name(split), " ", images ? "images" : "labels", " file in ", dir,
                             " (expected e.g. ", split == Split::kTrain ? "train" : "t10k", "-",
                             images ? "images-idx3" : "labels-idx1", "-ubyte[.gz])");
        for (const auto* h : hits)
            if (stem(h->name) != stem(hits[0]->name))
                return invalid_argument("several IDX ", split_name(split), " ", images ? "images" : "labels",
                                        " files in ", dir, ": ", hits[0]->name, ", ", h->name);
        for (const auto* h : hits)
            if (!detail::ends_with(h->name, ".gz")) return h->path;
        return hits[0]->path;
    };
    QAT_ASSIGN_OR_RETURN(std::string images, find(true));
    QAT_ASSIGN_OR_RETURN(std::string labels, find(false));
    return open_idx_files(images, labels, name + " " + split_name(split));
}

}  // namespace qat::data
