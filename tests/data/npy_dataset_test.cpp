#include <gtest/gtest.h>

#include "core/npy.h"
#include "data/dataset.h"
#include "data_test_util.h"

using namespace qat;
using namespace qat::data;
using namespace qat::data::testing;

TEST(NpyDataset, SamplesAndLabels) {
    std::string dir = temp_dir();
    std::vector<float> v(4 * 6);
    for (size_t i = 0; i < v.size(); ++i) v[i] = 0.25f * static_cast<float>(i) - 2.0f;
    ASSERT_TRUE(save_npy(dir + "/x.npy", Tensor::from_vector<float>({4, 2, 3}, v)).ok());
    ASSERT_TRUE(save_npy(dir + "/y.npy", Tensor::from_vector<int64_t>({4}, {3, 0, 7, 1})).ok());
    auto ds = open_dataset("npy:" + dir + "/x.npy," + dir + "/y.npy", Split::kTest);
    ASSERT_TRUE(ds.ok()) << ds.status().to_string();
    EXPECT_EQ((*ds)->size(), 4);
    EXPECT_EQ((*ds)->sample_dims(), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ((*ds)->sample_dtype(), DataType::kFloat32);
    EXPECT_EQ((*ds)->num_classes(), 8);  // max label + 1
    Tensor t;
    int64_t label;
    ASSERT_TRUE((*ds)->get(2, &t, &label).ok());
    EXPECT_EQ(label, 7);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(t.data<float>()[i], v[static_cast<size_t>(12 + i)]);

    // Without labels; float64 becomes float32; int labels of another width.
    ASSERT_TRUE(save_npy(dir + "/d.npy", Tensor::from_vector<double>({2, 1}, {1.5, -3.0})).ok());
    auto d = open_dataset("npy:" + dir + "/d.npy", Split::kTrain);
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_FALSE((*d)->has_labels());
    EXPECT_EQ((*d)->label(0), -1);
    ASSERT_TRUE((*d)->get(1, &t, &label).ok());
    EXPECT_EQ(label, -1);
    EXPECT_EQ(t.data<float>()[0], -3.0f);
}

TEST(NpyDataset, BadInput) {
    std::string dir = temp_dir();
    ASSERT_TRUE(save_npy(dir + "/x.npy", Tensor::zeros(DataType::kFloat32, {3, 2})).ok());
    ASSERT_TRUE(save_npy(dir + "/vec.npy", Tensor::zeros(DataType::kFloat32, {3})).ok());
    ASSERT_TRUE(save_npy(dir + "/empty.npy", Tensor::zeros(DataType::kFloat32, {0, 2})).ok());
    ASSERT_TRUE(save_npy(dir + "/y2.npy", Tensor::from_vector<int32_t>({2}, {0, 1})).ok());
    ASSERT_TRUE(save_npy(dir + "/yneg.npy", Tensor::from_vector<int32_t>({3}, {0, -1, 1})).ok());
    ASSERT_TRUE(save_npy(dir + "/yf.npy", Tensor::from_vector<float>({3}, {0, 1, 1})).ok());
    write_bytes(dir + "/junk.npy", "definitely not numpy");
    struct Case {
        std::string spec, expect;
    } cases[] = {
        {"npy:" + dir + "/vec.npy", "N x ..."},
        {"npy:" + dir + "/empty.npy", "empty data set"},
        {"npy:" + dir + "/x.npy," + dir + "/y2.npy", "has 2 labels but"},
        {"npy:" + dir + "/x.npy," + dir + "/yneg.npy", "label -1 of sample 1"},
        {"npy:" + dir + "/x.npy," + dir + "/yf.npy", "integer"},
        {"npy:" + dir + "/junk.npy", "junk.npy"},
        {"npy:" + dir + "/missing.npy", "missing.npy"},
        {"npy:" + dir + "/x.npy," + dir + "/missing_labels.npy", "missing_labels.npy"},
    };
    for (const auto& c : cases) {
        auto r = open_dataset(c.spec, Split::kTrain);
        ASSERT_FALSE(r.ok()) << c.spec;
        EXPECT_NE(r.status().to_string().find(c.expect), std::string::npos) << c.spec << ": " << r.status().to_string();
    }
}
