#include <gtest/gtest.h>

#include <memory>

#include "data/dataset.h"
#include "data_test_util.h"

using namespace qat;
using namespace qat::data;

TEST(DataSpec, Parses) {
    auto s = parse_data_spec("fashion-mnist");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->kind, DataKind::kFashionMnist);
    EXPECT_TRUE(s->path.empty());
    s = parse_data_spec("idx:/d/mnist");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->kind, DataKind::kIdx);
    EXPECT_EQ(s->path, "/d/mnist");
    s = parse_data_spec("cifar:rel/dir");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->kind, DataKind::kCifar);
    s = parse_data_spec("folder:/imgs:with:colons");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->kind, DataKind::kFolder);
    EXPECT_EQ(s->path, "/imgs:with:colons");
    s = parse_data_spec("npy:a.npy,b.npy");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->kind, DataKind::kNpy);
    EXPECT_EQ(s->path, "a.npy");
    EXPECT_EQ(s->labels_path, "b.npy");
    EXPECT_EQ(s->to_string(), "npy:a.npy,b.npy");
    EXPECT_EQ(parse_split("train").value_or(Split::kTest), Split::kTrain);
    EXPECT_EQ(parse_split("TEST").value_or(Split::kTrain), Split::kTest);
    EXPECT_EQ(parse_split("val").value_or(Split::kTrain), Split::kTest);
}

TEST(DataSpec, Rejects) {
    struct Case {
        const char* spec;
        const char* expect;
    } cases[] = {
        {"", "empty --data"},
        {"imagenet", "unknown --data 'imagenet'"},
        {"tfrecord:/x", "unknown data kind 'tfrecord'"},
        {"idx:", "names no path"},
        {"npy:a.npy,", "empty labels file"},
        {"npy:,b.npy", "names no .npy file"},
        {"npy:a,b,c", "more than one ','"},
    };
    for (const auto& c : cases) {
        auto r = parse_data_spec(c.spec);
        ASSERT_FALSE(r.ok()) << c.spec;
        EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
        EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << c.spec << ": " << r.status().message();
    }
    auto split = parse_split("validation");
    ASSERT_FALSE(split.ok());
    EXPECT_NE(split.status().message().find("validation"), std::string::npos);
    auto ds = open_dataset("bogus:/x", Split::kTrain);
    ASSERT_FALSE(ds.ok());
    EXPECT_NE(ds.status().message().find("bogus"), std::string::npos);
}

TEST(DataSpec, MissingFashionMnistNamesThePackage) {
    auto r = open_dataset("fashion-mnist:/nonexistent/fmnist", Split::kTest);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("/nonexistent/fmnist"), std::string::npos) << r.status().to_string();
    EXPECT_NE(r.status().message().find("dataset-fashion-mnist"), std::string::npos);
    EXPECT_EQ(fashion_mnist_class_names().size(), 10u);
    EXPECT_EQ(fashion_mnist_class_names()[6], "Shirt");
}

TEST(InputShape, MatchesAndMismatches) {
    Shape nchw{Dim::symbolic("N"), 3, 32, 32};
    EXPECT_TRUE(check_input_shape({3, 32, 32}, nchw, "input", 64).ok());
    auto s = check_input_shape({1, 28, 28}, nchw, "input");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.message().rfind("data gives [1,28,28] per sample, model input 'input' expects [N,3,32,32]", 0), 0u)
        << s.message();
    s = check_input_shape({1, 32, 32}, nchw, "input");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("to_rgb"), std::string::npos) << s.message();
    s = check_input_shape({3, 32, 32}, Shape{Dim::symbolic("N"), 32, 32, 3}, "x");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("NHWC"), std::string::npos) << s.message();
    s = check_input_shape({3, 40, 40}, nchw, "input");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("resize or crop"), std::string::npos) << s.message();
    s = check_input_shape({784}, nchw, "input");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("[784]"), std::string::npos) << s.message();
    // A fixed batch must match the batch size.
    Shape fixed{1, 3, 32, 32};
    EXPECT_TRUE(check_input_shape({3, 32, 32}, fixed, "input", 1).ok());
    s = check_input_shape({3, 32, 32}, fixed, "input", 8);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("fixed batch of 1"), std::string::npos) << s.message();
    // Unknown dims accept anything.
    EXPECT_TRUE(check_input_shape({3, 17, 19}, Shape{Dim(), 3, Dim(), Dim()}, "input", 4).ok());
}

namespace {
// A tiny labelled set whose labels the test chooses.
class FakeLabels : public Dataset {
  public:
    explicit FakeLabels(std::vector<int64_t> labels) : labels_(std::move(labels)) {}
    int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
    std::vector<int64_t> sample_dims() const override { return {1}; }
    DataType sample_dtype() const override { return DataType::kFloat32; }
    Status get(int64_t, Tensor* s, int64_t* l) const override {
        *s = Tensor::zeros(DataType::kFloat32, {1});
        if (l) *l = 0;
        return OkStatus();
    }
    int64_t label(int64_t i) const override { return labels_[static_cast<size_t>(i)]; }
    int64_t num_classes() const override { return labels_.empty() ? 0 : 13; }
    std::string sample_name(int64_t i) const override { return "fake/" + std::to_string(i); }
    std::string description() const override { return "fake"; }

  private:
    std::vector<int64_t> labels_;
};
}  // namespace

TEST(Labels, OutOfRangeNamesTheSample) {
    FakeLabels ok({0, 9, 3});
    EXPECT_TRUE(check_labels(ok, 10).ok());
    FakeLabels bad({0, 9, 12, 3});
    auto s = check_labels(bad, 10);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("label 12 of sample 2 (fake/2) is out of range for a 10-class model"), std::string::npos)
        << s.message();
    FakeLabels empty({});
    s = check_labels(empty, 10);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("empty data set"), std::string::npos);
}

TEST(Subset, ViewsAndChecksIndices) {
    auto base = std::make_shared<FakeLabels>(std::vector<int64_t>{5, 6, 7, 8});
    auto sub = make_subset(base, {3, 1});
    ASSERT_TRUE(sub.ok());
    EXPECT_EQ((*sub)->size(), 2);
    EXPECT_EQ((*sub)->label(0), 8);
    EXPECT_EQ((*sub)->sample_name(1), "fake/1");
    auto bad = make_subset(base, {0, 4});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("subset index 4"), std::string::npos);
}
