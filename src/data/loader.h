// Batches from a Dataset: preprocessing, optional augmentation, per-epoch shuffling and a
// background thread that prepares the next batches while the caller works on the current one.
//
//   data::LoaderOptions opt;
//   opt.batch_size = 64;
//   opt.preprocess = data::default_preprocess(ds->sample_dtype());   // u8 -> [0,1]
//   QAT_ASSIGN_OR_RETURN(auto loader, data::Loader::create(ds, opt));
//   QAT_RETURN_IF_ERROR(data::check_input_shape(loader->sample_dims(), input_shape, "input", 64));
//   for (int64_t epoch = 0; epoch < epochs; ++epoch) {
//       loader->start_epoch(epoch);
//       data::Batch batch;
//       for (;;) {
//           QAT_ASSIGN_OR_RETURN(bool more, loader->next(&batch));
//           if (!more) break;
//           run(batch.images);            // f32 [B,C,H,W]; batch.labels: i64 [B]
//       }
//   }
//
// Buffers: the loader owns prefetch + 1 batch buffers and recycles them, so steady state touches
// no fresh memory. A batch handed out by next() stays valid until the following next(),
// start_epoch() or the loader's destruction; clone() what must live longer.
//
// Determinism: the sample order (shuffle) and augmentation draws depend only on (seed, epoch),
// never on timing or on the prefetch depth; prefetch = 0 gives identical batches synchronously.
// Errors (a file that cannot be read, a sample of the wrong size) come back from next() as a
// Status naming the sample; the loader then stops the epoch.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/random.h"
#include "data/transforms.h"

namespace qat::data {

struct Batch {
    Tensor images;                 // f32 [B, ...Loader::sample_dims()]
    Tensor labels;                 // i64 [B]; -1 for samples of an unlabeled set
    std::vector<int64_t> indices;  // data set index of each sample (for per-sample reports)
    int64_t epoch = 0;
    int64_t number = 0;  // batch number within the epoch, from 0
    int64_t size() const { return images.defined() ? images.dim(0) : 0; }
};

struct LoaderOptions {
    int64_t batch_size = 32;
    bool drop_last = false;  // drop the last, partial batch of an epoch (training) or keep it
    bool shuffle = false;    // a new order each epoch, from (seed, epoch)
    uint64_t seed = 0;
    // Batches prepared ahead on the background thread (1..8; 2-4 is plenty). 0: no thread, each
    // next() prepares its batch in the caller's thread.
    int prefetch = 2;
    Preprocess preprocess;
    Augment augment;  // training augmentation, applied before scale / mean / std
};

class Loader {
  public:
    // Checks the options against the data set (empty set, batch size, preprocessing that cannot
    // give one sample shape); starts nothing yet.
    static Result<std::unique_ptr<Loader>> create(DatasetPtr dataset, LoaderOptions options);
    ~Loader();
    Loader(const Loader&) = delete;
    Loader& operator=(const Loader&) = delete;

    const Dataset& dataset() const { return *dataset_; }
    const LoaderOptions& options() const { return opt_; }
    // One preprocessed sample: [C,H,W] (NCHW) or [H,W,C] (NHWC), or the npy row shape.
    const std::vector<int64_t>& sample_dims() const { return sample_dims_; }
    // [batch_size, ...sample_dims()]: the shape of every full batch.
    std::vector<int64_t> batch_dims() const;
    // Per epoch.
    int64_t num_batches() const;
    int64_t num_samples() const;

    // Starts (or restarts) epoch `epoch`: stops any epoch in flight, then the background thread
    // begins preparing batches. next() without start_epoch() starts epoch 0.
    void start_epoch(int64_t epoch);
    // The next batch of the current epoch into *batch; false when the epoch is over. An error
    // names the failing sample and ends the epoch.
    Result<bool> next(Batch* batch);

  private:
    Loader(DatasetPtr dataset, LoaderOptions options, Preprocessor pre);

    struct Slot {
        std::shared_ptr<void> images, labels;
        std::vector<int64_t> indices;
        int64_t count = 0;   // samples in this batch
        int64_t number = 0;  // batch number
    };
    struct Ready {
        int slot = -1;  // -1 with ok status: end of epoch
        Status status;
    };

    // Fills slot `s` with batch `b` of the current order. Called by the producer (or by next()
    // when prefetch is 0).
    Status fill(Slot* s, int64_t b);
    void produce(int64_t epoch_token);
    void stop();
    void reset_epoch_state(int64_t epoch);

    DatasetPtr dataset_;
    LoaderOptions opt_;
    Preprocessor pre_;
    std::vector<int64_t> sample_dims_;
    int64_t sample_numel_ = 0;

    std::vector<Slot> slots_;
    std::vector<int64_t> order_;
    Rng aug_rng_;
    Tensor sample_;  // raw sample scratch (reused by sources that decode)
    int64_t epoch_ = -1;
    int64_t next_batch_ = 0;  // synchronous mode: next batch to fill
    bool finished_ = false;   // epoch ended (normally or by an error)

    std::mutex mu_;
    std::condition_variable cv_free_, cv_ready_;
    std::deque<int> free_;
    std::deque<Ready> ready_;
    int held_ = -1;  // slot handed to the caller by the last next()
    bool stop_ = false;
    std::thread worker_;
};

}  // namespace qat::data
