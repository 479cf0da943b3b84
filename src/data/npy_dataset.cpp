// `npy:FILE[,LABELS.npy]`: an N x ... array whose first dim indexes samples, for data that is
// already preprocessed (exported from another framework) or not made of images at all.
#include <algorithm>
#include <memory>

#include "core/npy.h"
#include "data/dataset.h"
#include "data/memory_dataset.h"

namespace qat::data {

Result<DatasetPtr> open_npy(const std::string& path, const std::string& labels_path) {
    QAT_ASSIGN_OR_RETURN(Tensor data, load_npy(path));
    if (data.rank() < 2)
        return invalid_argument(path, ": expected an N x ... array (first dim = samples), got shape ",
                                dims_to_string(data.dims()));
    if (data.dim(0) == 0) return invalid_argument(path, ": empty data set (first dim is 0)");
    if (data.dtype() == DataType::kBool) return unsupported(path, ": boolean arrays are not a data set");
    // u8 stays u8 (images: the transforms scale it); everything else becomes float32 once here.
    if (data.dtype() != DataType::kUint8 && data.dtype() != DataType::kFloat32) data = data.cast(DataType::kFloat32);

    std::vector<int64_t> labels;
    int64_t num_classes = 0;
    if (!labels_path.empty()) {
        QAT_ASSIGN_OR_RETURN(Tensor lab, load_npy(labels_path));
        if (!is_integer(lab.dtype()))
            return invalid_argument(labels_path, ": labels must be an integer array, got ", dtype_name(lab.dtype()));
        bool column = lab.rank() == 2 && lab.dim(1) == 1;
        if (lab.rank() != 1 && !column)
            return invalid_argument(labels_path, ": labels must be a 1-D array [N], got shape ",
                                    dims_to_string(lab.dims()));
        if (lab.dim(0) != data.dim(0))
            return invalid_argument(labels_path, " has ", lab.dim(0), " labels but ", path, " has ", data.dim(0),
                                    " samples");
        labels.resize(static_cast<size_t>(lab.numel()));
        for (int64_t i = 0; i < lab.numel(); ++i) {
            int64_t v = static_cast<int64_t>(lab.get_as_double(i));
            if (lab.dtype() == DataType::kInt64) v = lab.data<int64_t>()[i];  // exact beyond 2^53
            if (v < 0) return out_of_range(labels_path, ": label ", v, " of sample ", i, " is negative");
            labels[static_cast<size_t>(i)] = v;
            num_classes = std::max(num_classes, v + 1);
        }
    }
    size_t slash = path.find_last_of('/');
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    return DatasetPtr(std::make_shared<detail::MemoryDataset>("npy " + base, base, std::move(data), std::move(labels),
                                                              num_classes, std::vector<std::string>{}));
}

}  // namespace qat::data
