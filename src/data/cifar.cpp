// CIFAR-10 / CIFAR-100 binary versions (https://www.cs.toronto.edu/~kriz/cifar.html): fixed-size
// records of label byte(s) + 3072 pixel bytes (1024 R, 1024 G, 1024 B, row-major 32x32), so the
// pixels are already CHW. CIFAR-100 records carry a coarse then a fine label; we use the fine one.
#include <cstring>
#include <memory>
#include <sstream>

#include "core/file_util.h"
#include "data/dataset.h"
#include "data/io_util.h"
#include "data/memory_dataset.h"

namespace qat::data {
namespace {

constexpr int64_t kPixels = 3 * 32 * 32;

struct CifarLayout {
    std::string dir;
    bool cifar100 = false;
};

bool has_file(const std::string& dir, const std::string& name) {
    return file_exists(dir + "/" + name) && !is_directory(dir + "/" + name);
}

// The folder that holds the .bin files: DIR itself or the archive's own sub-folder.
Result<CifarLayout> find_cifar(const std::string& dir) {
    if (!file_exists(dir)) return not_found("CIFAR folder not found: ", dir);
    if (!is_directory(dir))
        return invalid_argument(dir, " is not a folder (cifar:DIR expects the folder of .bin batches)");
    for (const std::string& d : {dir, dir + "/cifar-10-batches-bin", dir + "/cifar-100-binary"}) {
        if (!is_directory(d)) continue;
        if (has_file(d, "data_batch_1.bin") || has_file(d, "test_batch.bin")) return CifarLayout{d, false};
        if (has_file(d, "train.bin") || has_file(d, "test.bin")) return CifarLayout{d, true};
    }
    return not_found(
        "no CIFAR binary batches in ", dir,
        " (expected data_batch_1.bin ... / test_batch.bin for CIFAR-10, train.bin / test.bin for CIFAR-100)");
}

// Non-empty lines of DIR/name, or empty when the file is missing.
std::vector<std::string> read_names(const std::string& path) {
    std::vector<std::string> out;
    auto bytes = read_file(path);
    if (!bytes.ok()) return out;
    std::istringstream in(*bytes);
    std::string line;
    while (std::getline(in, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (!line.empty()) out.push_back(line);
    }
    return out;
}

}  // namespace

Result<DatasetPtr> open_cifar(const std::string& dir, Split split) {
    QAT_ASSIGN_OR_RETURN(CifarLayout layout, find_cifar(dir));
    std::vector<std::string> files;
    if (layout.cifar100) {
        files.push_back(layout.dir + (split == Split::kTrain ? "/train.bin" : "/test.bin"));
    } else if (split == Split::kTest) {
        files.push_back(layout.dir + "/test_batch.bin");
    } else {
        QAT_ASSIGN_OR_RETURN(auto entries, detail::list_dir(layout.dir));
        for (const auto& e : entries)
            if (!e.is_dir && e.name.rfind("data_batch_", 0) == 0 && detail::ends_with(e.name, ".bin"))
                files.push_back(e.path);
        if (files.empty()) return not_found("no CIFAR-10 training batches (data_batch_*.bin) in ", layout.dir);
    }
    const int64_t label_bytes = layout.cifar100 ? 2 : 1;
    const int64_t record = label_bytes + kPixels;
    const int64_t classes = layout.cifar100 ? 100 : 10;

    std::vector<std::string> contents;
    int64_t total = 0;
    for (const auto& f : files) {
        QAT_ASSIGN_OR_RETURN(std::string bytes, detail::read_whole_file(f));
        int64_t n = static_cast<int64_t>(bytes.size());
        if (n == 0) return invalid_argument(f, ": empty CIFAR batch file");
        if (n % record != 0)
            return invalid_argument(f, ": ", n, " bytes is not a whole number of ", record, "-byte ",
                                    layout.cifar100 ? "CIFAR-100" : "CIFAR-10", " records (truncated or not a ",
                                    layout.cifar100 ? "CIFAR-100" : "CIFAR-10", " batch)");
        total += n / record;
        contents.push_back(std::move(bytes));
    }
    Tensor data = Tensor::empty(DataType::kUint8, {total, 3, 32, 32});
    std::vector<int64_t> labels(static_cast<size_t>(total));
    int64_t k = 0;
    for (size_t fi = 0; fi < files.size(); ++fi) {
        const auto* p = reinterpret_cast<const unsigned char*>(contents[fi].data());
        int64_t n = static_cast<int64_t>(contents[fi].size()) / record;
        for (int64_t i = 0; i < n; ++i, ++k) {
            const unsigned char* r = p + i * record;
            int64_t label = r[label_bytes - 1];  // CIFAR-100: the fine label follows the coarse one
            if (layout.cifar100 && r[0] >= 20)
                return out_of_range(files[fi], ": record ", i, " has coarse label ", int{r[0]}, ", expected 0..19");
            if (label >= classes)
                return out_of_range(files[fi], ": record ", i, " has label ", label, ", expected 0..", classes - 1,
                                    layout.cifar100 ? "" : " (a CIFAR-100 file in a CIFAR-10 folder?)");
            labels[static_cast<size_t>(k)] = label;
            std::memcpy(data.data<uint8_t>() + k * kPixels, r + label_bytes, kPixels);
        }
        contents[fi].clear();
        contents[fi].shrink_to_fit();
    }

    std::vector<std::string> names =
        read_names(layout.dir + (layout.cifar100 ? "/fine_label_names.txt" : "/batches.meta.txt"));
    if (static_cast<int64_t>(names.size()) != classes)
        names = layout.cifar100 ? std::vector<std::string>{} : cifar10_class_names();
    std::string name = std::string(layout.cifar100 ? "cifar-100 " : "cifar-10 ") + split_name(split);
    std::string source = files.size() == 1 ? files[0] : layout.dir + "/data_batch_*.bin";
    return DatasetPtr(std::make_shared<detail::MemoryDataset>(name, source, std::move(data), std::move(labels), classes,
                                                              std::move(names)));
}

}  // namespace qat::data
