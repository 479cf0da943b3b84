// Internal (src/data only): a data set held in memory as one [N, ...] tensor plus labels; the
// common body of the IDX, CIFAR and .npy sources. get() hands out read-only views.
#pragma once

#include "data/dataset.h"

namespace qat::data::detail {

class MemoryDataset : public Dataset {
  public:
    // data: u8 or f32 [N, sample dims...]; labels: N entries (empty when unlabeled);
    // num_classes: 0 when unlabeled. `source` names the file for sample_name().
    MemoryDataset(std::string description_prefix, std::string source, Tensor data, std::vector<int64_t> labels,
                  int64_t num_classes, std::vector<std::string> class_names);

    int64_t size() const override { return n_; }
    std::vector<int64_t> sample_dims() const override { return sample_dims_; }
    DataType sample_dtype() const override { return data_.dtype(); }
    Status get(int64_t index, Tensor* sample, int64_t* label) const override;
    int64_t label(int64_t index) const override;
    int64_t num_classes() const override { return num_classes_; }
    std::string sample_name(int64_t index) const override;
    std::string description() const override;

  private:
    std::string prefix_;
    std::string source_;
    Tensor data_;
    std::vector<int64_t> labels_;
    int64_t num_classes_ = 0;
    int64_t n_ = 0;
    std::vector<int64_t> sample_dims_;
    size_t sample_bytes_ = 0;
};

// "u8[1,28,28]"
std::string sample_desc(DataType t, const std::vector<int64_t>& dims);

}  // namespace qat::data::detail
