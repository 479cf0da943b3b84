#include "data/loader.h"

#include <algorithm>
#include <exception>
#include <numeric>

namespace qat::data {

Result<std::unique_ptr<Loader>> Loader::create(DatasetPtr dataset, LoaderOptions options) {
    QAT_ASSERT(dataset != nullptr, "Loader::create with a null data set");
    if (dataset->size() == 0) return invalid_argument("empty data set: ", dataset->description());
    QAT_CHECK(options.batch_size > 0, "batch size must be positive, got ", options.batch_size);
    QAT_CHECK(options.prefetch >= 0 && options.prefetch <= 8, "prefetch must be 0..8 batches, got ", options.prefetch);
    if (options.augment.random_crop)
        QAT_CHECK(options.augment.padding >= 0, "random crop padding must be >= 0, got ", options.augment.padding);
    if (options.drop_last && dataset->size() < options.batch_size)
        return invalid_argument("the data set has ", dataset->size(), " samples: no full batch of ", options.batch_size,
                                " (drop_last is set): ", dataset->description());
    auto pre = Preprocessor::create(options.preprocess, dataset->sample_dims(), dataset->sample_dtype());
    if (!pre.ok()) return std::move(pre).take_status().with_context("while preprocessing " + dataset->description());
    if (options.augment.enabled() && pre->output_dims().size() != 3)
        return invalid_argument("augmentation needs image samples, the data gives ",
                                dims_to_string(pre->output_dims()));
    return std::unique_ptr<Loader>(new Loader(std::move(dataset), std::move(options), std::move(*pre)));
}

Loader::Loader(DatasetPtr dataset, LoaderOptions options, Preprocessor pre)
    : dataset_(std::move(dataset)), opt_(std::move(options)), pre_(std::move(pre)) {
    sample_dims_ = pre_.output_dims();
    sample_numel_ = pre_.output_numel();
    // The caller holds one batch while `prefetch` more are prepared.
    slots_.resize(static_cast<size_t>(std::max(opt_.prefetch, 0) + 1));
    const size_t image_bytes = static_cast<size_t>(opt_.batch_size * sample_numel_) * sizeof(float);
    for (auto& s : slots_) {
        s.images = aligned_alloc_bytes(image_bytes);
        s.labels = aligned_alloc_bytes(static_cast<size_t>(opt_.batch_size) * sizeof(int64_t));
        s.indices.reserve(static_cast<size_t>(opt_.batch_size));
    }
}

Loader::~Loader() { stop(); }

std::vector<int64_t> Loader::batch_dims() const {
    std::vector<int64_t> d = {opt_.batch_size};
    d.insert(d.end(), sample_dims_.begin(), sample_dims_.end());
    return d;
}

int64_t Loader::num_batches() const {
    const int64_t n = dataset_->size(), b = opt_.batch_size;
    return opt_.drop_last ? n / b : (n + b - 1) / b;
}

int64_t Loader::num_samples() const { return opt_.drop_last ? num_batches() * opt_.batch_size : dataset_->size(); }

void Loader::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_free_.notify_all();
    cv_ready_.notify_all();
    if (worker_.joinable()) worker_.join();
}

void Loader::reset_epoch_state(int64_t epoch) {
    epoch_ = epoch;
    next_batch_ = 0;
    finished_ = false;
    const int64_t n = dataset_->size();
    const uint64_t es = epoch_seed(opt_.seed, epoch);
    if (opt_.shuffle) {
        order_ = permutation(n, es);
    } else {
        order_.resize(static_cast<size_t>(n));
        std::iota(order_.begin(), order_.end(), int64_t{0});
    }
    // A stream of its own, so that turning shuffling on or off leaves the augmentation draws alone.
    aug_rng_ = Rng(mix_seed(es ^ 0xA5A5A5A5A5A5A5A5ull));
    free_.clear();
    ready_.clear();
    held_ = -1;
    for (int i = 0; i < static_cast<int>(slots_.size()); ++i) free_.push_back(i);
    stop_ = false;
}

void Loader::start_epoch(int64_t epoch) {
    stop();
    reset_epoch_state(epoch);
    if (opt_.prefetch > 0) worker_ = std::thread([this, epoch] { produce(epoch); });
}

Status Loader::fill(Slot* s, int64_t b) {
    const int64_t first = b * opt_.batch_size;
    const int64_t count = std::min<int64_t>(opt_.batch_size, dataset_->size() - first);
    s->count = count;
    s->number = b;
    s->indices.clear();
    float* images = static_cast<float*>(s->images.get());
    int64_t* labels = static_cast<int64_t*>(s->labels.get());
    const Augment* aug = opt_.augment.enabled() ? &opt_.augment : nullptr;
    for (int64_t i = 0; i < count; ++i) {
        const int64_t idx = order_[static_cast<size_t>(first + i)];
        int64_t label = -1;
        Status st = dataset_->get(idx, &sample_, &label);
        if (st.ok()) st = pre_.run(sample_, images + i * sample_numel_, aug, &aug_rng_);
        if (!st.ok())
            return st.with_context("while reading sample " + std::to_string(idx) + " (" + dataset_->sample_name(idx) +
                                   ")");
        labels[i] = label;
        s->indices.push_back(idx);
    }
    return OkStatus();
}

void Loader::produce(int64_t epoch) {
    (void)epoch;
    const int64_t batches = num_batches();
    for (int64_t b = 0; b < batches; ++b) {
        int slot;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_free_.wait(lock, [&] { return stop_ || !free_.empty(); });
            if (stop_) return;
            slot = free_.front();
            free_.pop_front();
        }
        Status st;
        try {
            st = fill(&slots_[static_cast<size_t>(slot)], b);
        } catch (const std::exception& e) {  // bad_alloc and the like: nothing may escape a thread
            st = internal_error("data loader thread: ", e.what());
        }
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (!st.ok()) {
                free_.push_back(slot);
                ready_.push_back(Ready{-1, std::move(st)});
                cv_ready_.notify_one();
                return;
            }
            ready_.push_back(Ready{slot, OkStatus()});
        }
        cv_ready_.notify_one();
    }
    std::lock_guard<std::mutex> lock(mu_);
    ready_.push_back(Ready{-1, OkStatus()});
    cv_ready_.notify_one();
}

Result<bool> Loader::next(Batch* batch) {
    if (epoch_ < 0) start_epoch(0);
    if (finished_) return false;
    int slot = -1;
    Status st;
    if (opt_.prefetch == 0) {
        if (next_batch_ >= num_batches()) {
            finished_ = true;
            return false;
        }
        slot = 0;
        st = fill(&slots_[0], next_batch_++);
    } else {
        std::unique_lock<std::mutex> lock(mu_);
        // The batch handed out last time is no longer the caller's: recycle its buffers.
        if (held_ >= 0) {
            free_.push_back(held_);
            held_ = -1;
            cv_free_.notify_one();
        }
        cv_ready_.wait(lock, [&] { return !ready_.empty(); });
        Ready r = std::move(ready_.front());
        ready_.pop_front();
        slot = r.slot;
        st = std::move(r.status);
        held_ = slot;
    }
    if (!st.ok()) {
        finished_ = true;
        return st;
    }
    if (slot < 0) {
        finished_ = true;
        return false;
    }
    const Slot& s = slots_[static_cast<size_t>(slot)];
    std::vector<int64_t> dims = sample_dims_;
    dims.insert(dims.begin(), s.count);
    batch->images = Tensor::from_storage(DataType::kFloat32, std::move(dims), s.images);
    batch->labels = Tensor::from_storage(DataType::kInt64, {s.count}, s.labels);
    batch->indices = s.indices;
    batch->epoch = epoch_;
    batch->number = s.number;
    return true;
}

}  // namespace qat::data
