#include "data/loader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

using namespace qat;
using namespace qat::data;

namespace {

// Sample i is a 1x2x2 u8 image filled with i % 256 (so the value identifies the sample); label
// i % 5; sample `fail_at` (if >= 0) fails to read. Counts reads.
class Counting : public Dataset {
  public:
    Counting(int64_t n, int64_t fail_at = -1) : n_(n), fail_at_(fail_at) {}
    int64_t size() const override { return n_; }
    std::vector<int64_t> sample_dims() const override { return {1, 2, 2}; }
    DataType sample_dtype() const override { return DataType::kUint8; }
    Status get(int64_t i, Tensor* s, int64_t* l) const override {
        ++reads;
        if (i == fail_at_) return io_error("cannot read fake file ", i);
        Tensor t = Tensor::empty(DataType::kUint8, {1, 2, 2});
        for (int k = 0; k < 4; ++k) t.data<uint8_t>()[k] = static_cast<uint8_t>(i % 256);
        *s = t;
        if (l) *l = i % 5;
        return OkStatus();
    }
    int64_t label(int64_t i) const override { return i % 5; }
    int64_t num_classes() const override { return 5; }
    std::string sample_name(int64_t i) const override { return "fake/" + std::to_string(i) + ".png"; }
    std::string description() const override { return "counting"; }
    mutable std::atomic<int64_t> reads{0};

  private:
    int64_t n_, fail_at_;
};

// All batches of one epoch: the sample ids (from the pixel values) per batch. For a data set
// that is not a subset, Batch::indices must name the same samples.
std::vector<std::vector<int64_t>> epoch(Loader& loader, int64_t e, bool check_indices = true) {
    loader.start_epoch(e);
    std::vector<std::vector<int64_t>> out;
    Batch b;
    for (;;) {
        auto more = loader.next(&b);
        EXPECT_TRUE(more.ok()) << more.status().to_string();
        if (!more.ok() || !*more) break;
        std::vector<int64_t> ids;
        for (int64_t i = 0; i < b.size(); ++i) {
            int64_t id = static_cast<int64_t>(b.images.data<float>()[i * 4]);
            if (check_indices) {
                EXPECT_EQ(id, b.indices[static_cast<size_t>(i)]);
            }
            EXPECT_EQ(b.labels.data<int64_t>()[i], id % 5);
            ids.push_back(id);
        }
        EXPECT_EQ(b.epoch, e);
        EXPECT_EQ(b.number, static_cast<int64_t>(out.size()));
        out.push_back(ids);
    }
    return out;
}

}  // namespace

TEST(Loader, BatchesInOrderWithPartialLastBatch) {
    auto ds = std::make_shared<Counting>(10);
    LoaderOptions opt;
    opt.batch_size = 4;
    auto loader = Loader::create(ds, opt);
    ASSERT_TRUE(loader.ok()) << loader.status().to_string();
    EXPECT_EQ((*loader)->num_batches(), 3);
    EXPECT_EQ((*loader)->batch_dims(), (std::vector<int64_t>{4, 1, 2, 2}));
    auto batches = epoch(**loader, 0);
    ASSERT_EQ(batches.size(), 3u);
    EXPECT_EQ(batches[0], (std::vector<int64_t>{0, 1, 2, 3}));
    EXPECT_EQ(batches[2], (std::vector<int64_t>{8, 9}));

    opt.drop_last = true;
    auto dropping = Loader::create(ds, opt);
    ASSERT_TRUE(dropping.ok());
    EXPECT_EQ((*dropping)->num_batches(), 2);
    EXPECT_EQ((*dropping)->num_samples(), 8);
    EXPECT_EQ(epoch(**dropping, 0).size(), 2u);
}

TEST(Loader, ShuffleIsAPermutationPerEpochAndReproducible) {
    auto ds = std::make_shared<Counting>(50);
    LoaderOptions opt;
    opt.batch_size = 8;
    opt.shuffle = true;
    opt.seed = 17;
    auto a = Loader::create(ds, opt);
    auto b = Loader::create(ds, opt);
    ASSERT_TRUE(a.ok() && b.ok());
    auto flatten = [](const std::vector<std::vector<int64_t>>& v) {
        std::vector<int64_t> f;
        for (const auto& x : v) f.insert(f.end(), x.begin(), x.end());
        return f;
    };
    auto e0 = flatten(epoch(**a, 0));
    auto e1 = flatten(epoch(**a, 1));
    EXPECT_EQ(e0, permutation(50, epoch_seed(17, 0)));
    EXPECT_EQ(std::set<int64_t>(e1.begin(), e1.end()).size(), 50u);
    EXPECT_NE(e0, e1);
    EXPECT_EQ(flatten(epoch(**b, 1)), e1);  // another loader, same seed and epoch
}

// Prefetching on the background thread changes nothing about the content, including the
// augmentation draws.
TEST(Loader, PrefetchDepthDoesNotChangeBatches) {
    auto ds = std::make_shared<Counting>(37);
    std::vector<std::vector<float>> results;
    for (int prefetch : {0, 1, 2, 4}) {
        LoaderOptions opt;
        opt.batch_size = 5;
        opt.shuffle = true;
        opt.seed = 3;
        opt.prefetch = prefetch;
        opt.preprocess.scale = 0.5f;
        opt.augment.random_crop = true;
        opt.augment.padding = 1;
        opt.augment.hflip = true;
        auto loader = Loader::create(ds, opt);
        ASSERT_TRUE(loader.ok()) << loader.status().to_string();
        std::vector<float> all;
        for (int64_t e = 0; e < 2; ++e) {
            (*loader)->start_epoch(e);
            Batch b;
            for (;;) {
                auto more = (*loader)->next(&b);
                ASSERT_TRUE(more.ok());
                if (!*more) break;
                all.insert(all.end(), b.images.data<float>(), b.images.data<float>() + b.images.numel());
            }
        }
        results.push_back(all);
    }
    ASSERT_EQ(results[0].size(), 2u * 37 * 4);
    for (size_t i = 1; i < results.size(); ++i) EXPECT_EQ(results[i], results[0]) << "prefetch variant " << i;
}

// Buffers are recycled: over many batches only prefetch + 1 distinct buffers appear.
TEST(Loader, ReusesBatchBuffers) {
    auto ds = std::make_shared<Counting>(64);
    LoaderOptions opt;
    opt.batch_size = 4;
    opt.prefetch = 2;
    auto loader = Loader::create(ds, opt);
    ASSERT_TRUE(loader.ok());
    std::set<const void*> buffers;
    Batch b;
    for (int e = 0; e < 2; ++e) {
        (*loader)->start_epoch(e);
        while (*(*loader)->next(&b)) buffers.insert(b.images.raw_data());
    }
    EXPECT_LE(buffers.size(), 3u);
}

TEST(Loader, ErrorsNameTheSampleAndEndTheEpoch) {
    for (int prefetch : {0, 2}) {
        auto ds = std::make_shared<Counting>(20, /*fail_at=*/13);
        LoaderOptions opt;
        opt.batch_size = 4;
        opt.prefetch = prefetch;
        auto loader = Loader::create(ds, opt);
        ASSERT_TRUE(loader.ok());
        (*loader)->start_epoch(0);
        Batch b;
        int good = 0;
        Status err;
        for (;;) {
            auto more = (*loader)->next(&b);
            if (!more.ok()) {
                err = more.status();
                break;
            }
            if (!*more) break;
            ++good;
        }
        EXPECT_EQ(good, 3);  // batches 0..2; batch 3 holds sample 13
        ASSERT_FALSE(err.ok());
        EXPECT_NE(err.to_string().find("cannot read fake file 13"), std::string::npos) << err.to_string();
        EXPECT_NE(err.to_string().find("fake/13.png"), std::string::npos) << err.to_string();
        auto after = (*loader)->next(&b);
        ASSERT_TRUE(after.ok());
        EXPECT_FALSE(*after);
    }
}

// Destroying a loader whose thread is blocked on a full queue (or in the middle of an epoch)
// returns promptly and joins cleanly.
TEST(Loader, ShutdownMidEpoch) {
    auto ds = std::make_shared<Counting>(1000);
    for (int i = 0; i < 20; ++i) {
        LoaderOptions opt;
        opt.batch_size = 3;
        opt.prefetch = 2;
        auto loader = Loader::create(ds, opt);
        ASSERT_TRUE(loader.ok());
        (*loader)->start_epoch(0);
        Batch b;
        if (i % 2) {
            ASSERT_TRUE(*(*loader)->next(&b));
        }
        (*loader)->start_epoch(1);  // restart while the producer is running
        if (i % 3 == 0) {
            ASSERT_TRUE(*(*loader)->next(&b));
        }
    }
    // The producer never runs ahead by more than its prefetch + 1 buffers (3 batches of 3) per
    // epoch started, however long the epoch: at most 20 * 2 * 9 reads instead of 40000.
    EXPECT_LE(ds->reads.load(), 20 * 2 * 3 * 3);
}

TEST(Loader, RejectsBadOptions) {
    auto ds = std::make_shared<Counting>(3);
    LoaderOptions opt;
    opt.batch_size = 0;
    EXPECT_FALSE(Loader::create(ds, opt).ok());
    opt.batch_size = 4;
    opt.drop_last = true;
    auto r = Loader::create(ds, opt);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("no full batch"), std::string::npos);
    opt.drop_last = false;
    opt.preprocess.mean = {1, 2, 3};
    r = Loader::create(ds, opt);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().to_string().find("counting"), std::string::npos) << r.status().to_string();
    auto empty = std::make_shared<Counting>(0);
    r = Loader::create(empty, LoaderOptions{});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("empty data set"), std::string::npos);
}

// A calibration subset through the loader: exactly the selected samples, in index order.
TEST(Loader, CalibrationSubset) {
    auto ds = std::make_shared<Counting>(250);
    auto idx = select_subset(250, 20, 99);
    auto sub = make_subset(ds, idx);
    ASSERT_TRUE(sub.ok());
    LoaderOptions opt;
    opt.batch_size = 8;
    auto loader = Loader::create(*sub, opt);
    ASSERT_TRUE(loader.ok());
    std::vector<int64_t> seen;
    for (const auto& b : epoch(**loader, 0, /*check_indices=*/false)) seen.insert(seen.end(), b.begin(), b.end());
    EXPECT_EQ(seen, idx);
}
