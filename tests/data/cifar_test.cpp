#include <gtest/gtest.h>

#include "data/dataset.h"
#include "data_test_util.h"

using namespace qat;
using namespace qat::data;
using namespace qat::data::testing;

namespace {

// Pixel (c, y, x) of record r in batch b: (b * 31 + r * 7 + c * 50 + y + x) mod 256.
uint8_t pix(int b, int r, int c, int y, int x) { return static_cast<uint8_t>((b * 31 + r * 7 + c * 50 + y + x) % 256); }

// Records as the CIFAR page defines them: label byte(s), then 1024 R, 1024 G, 1024 B row-major.
std::string cifar_batch(int b, int n, bool cifar100) {
    std::string s;
    for (int r = 0; r < n; ++r) {
        if (cifar100) s.push_back(static_cast<char>((r * 3) % 20));  // coarse
        s.push_back(static_cast<char>(cifar100 ? (b * 10 + r) % 100 : (b + r) % 10));
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < 32; ++y)
                for (int x = 0; x < 32; ++x) s.push_back(static_cast<char>(pix(b, r, c, y, x)));
    }
    return s;
}

void expect_record(const Dataset& ds, int64_t i, int b, int r, int64_t label) {
    Tensor t;
    int64_t l = -2;
    ASSERT_TRUE(ds.get(i, &t, &l).ok());
    ASSERT_EQ(t.dims(), (std::vector<int64_t>{3, 32, 32}));
    EXPECT_EQ(l, label);
    for (int c = 0; c < 3; ++c)
        for (int y : {0, 13, 31})
            for (int x : {0, 7, 31}) ASSERT_EQ(t.data<uint8_t>()[(c * 32 + y) * 32 + x], pix(b, r, c, y, x));
}

}  // namespace

TEST(Cifar, Cifar10TrainAndTest) {
    std::string dir = temp_dir() + "/cifar-10-batches-bin";  // the archive's own folder name
    write_bytes(dir + "/data_batch_1.bin", cifar_batch(1, 3, false));
    write_bytes(dir + "/data_batch_2.bin", cifar_batch(2, 2, false));
    write_bytes(dir + "/test_batch.bin", cifar_batch(9, 4, false));
    std::string root = dir.substr(0, dir.rfind('/'));
    auto train = open_dataset("cifar:" + root, Split::kTrain);
    ASSERT_TRUE(train.ok()) << train.status().to_string();
    EXPECT_EQ((*train)->size(), 5);
    EXPECT_EQ((*train)->num_classes(), 10);
    EXPECT_EQ((*train)->class_names().at(3), "cat");
    expect_record(**train, 0, 1, 0, 1);
    expect_record(**train, 2, 1, 2, 3);
    expect_record(**train, 4, 2, 1, 3);  // batch 2, record 1
    auto test = open_dataset("cifar:" + dir, Split::kTest);
    ASSERT_TRUE(test.ok()) << test.status().to_string();
    EXPECT_EQ((*test)->size(), 4);
    expect_record(**test, 3, 9, 3, (9 + 3) % 10);
}

TEST(Cifar, Cifar100UsesFineLabels) {
    std::string dir = temp_dir();
    write_bytes(dir + "/train.bin", cifar_batch(3, 6, true));
    write_bytes(dir + "/test.bin", cifar_batch(4, 2, true));
    auto train = open_dataset("cifar:" + dir, Split::kTrain);
    ASSERT_TRUE(train.ok()) << train.status().to_string();
    EXPECT_EQ((*train)->num_classes(), 100);
    EXPECT_EQ((*train)->size(), 6);
    for (int r = 0; r < 6; ++r) expect_record(**train, r, 3, r, (30 + r) % 100);
    auto test = open_dataset("cifar:" + dir, Split::kTest);
    ASSERT_TRUE(test.ok()) << test.status().to_string();
    expect_record(**test, 1, 4, 1, 41);
}

TEST(Cifar, BadInput) {
    std::string dir = temp_dir();
    auto r = open_dataset("cifar:" + dir, Split::kTrain);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("no CIFAR binary batches"), std::string::npos) << r.status().to_string();

    std::string b = cifar_batch(1, 2, false);
    write_bytes(dir + "/data_batch_1.bin", b.substr(0, b.size() - 100));
    r = open_dataset("cifar:" + dir, Split::kTrain);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("data_batch_1.bin"), std::string::npos) << r.status().to_string();
    EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().to_string();

    b[3073] = static_cast<char>(12);  // label of record 1
    write_bytes(dir + "/data_batch_1.bin", b);
    r = open_dataset("cifar:" + dir, Split::kTrain);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("record 1 has label 12"), std::string::npos) << r.status().to_string();

    // The test split is missing.
    write_bytes(dir + "/data_batch_1.bin", cifar_batch(1, 2, false));
    r = open_dataset("cifar:" + dir, Split::kTest);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("test_batch.bin"), std::string::npos) << r.status().to_string();

    r = open_dataset("cifar:" + dir + "/data_batch_1.bin", Split::kTrain);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("not a folder"), std::string::npos) << r.status().to_string();
}
