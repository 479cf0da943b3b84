#include <gtest/gtest.h>

#include <cstdio>
#include <numeric>
#include <sstream>

#include "core/file_util.h"
#include "data/dataset.h"
#include "data_test_util.h"

using namespace qat;
using namespace qat::data;
using namespace qat::data::testing;

namespace {

// n images of h x w whose pixel (i, y, x) = (i * 7 + y * 3 + x) mod 256; label i mod 10.
std::vector<uint8_t> pattern(int n, int h, int w) {
    std::vector<uint8_t> v;
    for (int i = 0; i < n; ++i)
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x) v.push_back(static_cast<uint8_t>((i * 7 + y * 3 + x) % 256));
    return v;
}
std::vector<uint8_t> labels_of(int n) {
    std::vector<uint8_t> v;
    for (int i = 0; i < n; ++i) v.push_back(static_cast<uint8_t>(i % 10));
    return v;
}

void write_idx_pair(const std::string& dir, const std::string& prefix, int n, int h, int w, bool gz) {
    auto img = idx_bytes({uint32_t(n), uint32_t(h), uint32_t(w)}, pattern(n, h, w));
    auto lab = idx_bytes({uint32_t(n)}, labels_of(n));
    if (gz) {
        write_gzip(dir + "/" + prefix + "-images-idx3-ubyte.gz", img);
        write_gzip(dir + "/" + prefix + "-labels-idx1-ubyte.gz", lab);
    } else {
        write_bytes(dir + "/" + prefix + "-images-idx3-ubyte", img);
        write_bytes(dir + "/" + prefix + "-labels-idx1-ubyte", lab);
    }
}

void expect_sample(const Dataset& ds, int64_t i, int h, int w) {
    Tensor t;
    int64_t label = -2;
    ASSERT_TRUE(ds.get(i, &t, &label).ok());
    ASSERT_EQ(t.dtype(), DataType::kUint8);
    ASSERT_EQ(t.dims(), (std::vector<int64_t>{1, h, w}));
    EXPECT_EQ(label, i % 10);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            ASSERT_EQ(t.data<uint8_t>()[y * w + x], (i * 7 + y * 3 + x) % 256) << "sample " << i << " y " << y;
}

}  // namespace

TEST(Idx, ReadsGzipAndRawSplits) {
    std::string dir = temp_dir();
    write_idx_pair(dir, "train", 12, 5, 4, /*gz=*/true);
    write_idx_pair(dir, "t10k", 7, 5, 4, /*gz=*/false);
    auto train = open_dataset("idx:" + dir, Split::kTrain);
    ASSERT_TRUE(train.ok()) << train.status().to_string();
    EXPECT_EQ((*train)->size(), 12);
    EXPECT_EQ((*train)->sample_dims(), (std::vector<int64_t>{1, 5, 4}));
    EXPECT_EQ((*train)->num_classes(), 10);
    for (int64_t i : {0, 5, 11}) expect_sample(**train, i, 5, 4);
    EXPECT_EQ((*train)->label(3), 3);

    auto test = open_dataset("idx:" + dir, Split::kTest);
    ASSERT_TRUE(test.ok()) << test.status().to_string();
    EXPECT_EQ((*test)->size(), 7);
    expect_sample(**test, 6, 5, 4);
    Tensor t;
    EXPECT_EQ((*test)->get(7, &t, nullptr).code(), StatusCode::kOutOfRange);
}

TEST(Idx, FashionMnistSpecUsesClassNames) {
    std::string dir = temp_dir();
    write_idx_pair(dir, "t10k", 3, 2, 2, true);
    auto ds = open_dataset("fashion-mnist:" + dir, Split::kTest);
    ASSERT_TRUE(ds.ok()) << ds.status().to_string();
    EXPECT_EQ((*ds)->num_classes(), 10);
    ASSERT_EQ((*ds)->class_names().size(), 10u);
    EXPECT_EQ((*ds)->class_names()[0], "T-shirt/top");
    EXPECT_EQ((*ds)->class_names()[9], "Ankle boot");
    EXPECT_NE((*ds)->description().find("fashion-mnist test"), std::string::npos) << (*ds)->description();
}

TEST(Idx, BadFilesGiveClearErrors) {
    std::string dir = temp_dir();
    auto img = idx_bytes({4, 3, 3}, pattern(4, 3, 3));
    auto lab = idx_bytes({4}, labels_of(4));

    // Truncated data.
    write_bytes(dir + "/a-images", img.substr(0, img.size() - 5));
    write_bytes(dir + "/a-labels", lab);
    auto r = open_idx_files(dir + "/a-images", dir + "/a-labels");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().to_string();
    EXPECT_NE(r.status().message().find(dir + "/a-images"), std::string::npos);

    // Truncated header.
    write_bytes(dir + "/b-images", img.substr(0, 9));
    r = open_idx_files(dir + "/b-images", "");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("truncated IDX header"), std::string::npos) << r.status().to_string();

    // Wrong magic (a PNG signature).
    write_bytes(dir + "/c-images", "\x89PNG\r\n\x1a\nxxxxxxxx");
    r = open_idx_files(dir + "/c-images", "");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("not an IDX file"), std::string::npos) << r.status().to_string();

    // Labels and images swapped.
    write_bytes(dir + "/d-images", img);
    write_bytes(dir + "/d-labels", lab);
    r = open_idx_files(dir + "/d-labels", dir + "/d-images");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("labels file"), std::string::npos) << r.status().to_string();

    // Count mismatch.
    write_bytes(dir + "/e-labels", idx_bytes({3}, labels_of(3)));
    r = open_idx_files(dir + "/d-images", dir + "/e-labels");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("has 3 labels but"), std::string::npos) << r.status().to_string();

    // Corrupt / truncated gzip.
    write_gzip(dir + "/f.gz", img);
    std::string gz = read_bytes(dir + "/f.gz");
    write_bytes(dir + "/g-images.gz", gz.substr(0, gz.size() / 2));
    r = open_idx_files(dir + "/g-images.gz", "");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("truncated gzip"), std::string::npos) << r.status().to_string();

    // Empty (0 images).
    write_bytes(dir + "/h-images", idx_bytes({0, 3, 3}, {}));
    r = open_idx_files(dir + "/h-images", "");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("empty"), std::string::npos) << r.status().to_string();

    // Missing file and a directory.
    r = open_idx_files(dir + "/nope", "");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(dir + "/nope"), std::string::npos);
    r = open_idx_files(dir, "");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("directory"), std::string::npos) << r.status().to_string();
}

TEST(Idx, DirectoryLookupErrors) {
    std::string dir = temp_dir();
    auto r = open_dataset("idx:" + dir + "/missing", Split::kTrain);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().to_string().find(dir + "/missing"), std::string::npos) << r.status().to_string();
    write_idx_pair(dir, "train", 2, 2, 2, false);
    r = open_dataset("idx:" + dir, Split::kTest);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("no IDX test images"), std::string::npos) << r.status().to_string();
    // Two different candidates are ambiguous.
    write_bytes(dir + "/other-train-images-idx3-ubyte", idx_bytes({1, 2, 2}, pattern(1, 2, 2)));
    r = open_dataset("idx:" + dir, Split::kTrain);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("several"), std::string::npos) << r.status().to_string();
}

// The real test split of Debian's dataset-fashion-mnist, checked against numpy reading the same
// gzip files in Python.
TEST(Idx, RealFashionMnistTestSplit) {
    std::string dir = fashion_mnist_dir();
    if (!file_exists(dir + "/t10k-images-idx3-ubyte.gz"))
        GTEST_SKIP() << "Fashion-MNIST not installed in " << dir << " (Debian package dataset-fashion-mnist)";
    auto ds = open_dataset("fashion-mnist", Split::kTest);
    ASSERT_TRUE(ds.ok()) << ds.status().to_string();
    EXPECT_EQ((*ds)->size(), 10000);
    EXPECT_EQ((*ds)->sample_dims(), (std::vector<int64_t>{1, 28, 28}));
    EXPECT_EQ((*ds)->num_classes(), 10);
    std::vector<int64_t> hist(10, 0);
    for (int64_t i = 0; i < (*ds)->size(); ++i) {
        int64_t l = (*ds)->label(i);
        ASSERT_TRUE(l >= 0 && l <= 9) << "sample " << i;
        ++hist[static_cast<size_t>(l)];
    }
    EXPECT_TRUE(check_labels(**ds, 10).ok());
    Tensor t;
    int64_t label;
    ASSERT_TRUE((*ds)->get(1234, &t, &label).ok());
    int64_t sum = 0;
    for (int64_t i = 0; i < t.numel(); ++i) sum += t.data<uint8_t>()[i];

    if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "numpy (python3-numpy) not installed: counts checked, pixel values not cross-checked";
    std::string cmd = "/usr/bin/python3 -c \"import gzip, numpy as np; d='" + dir +
                      "'; x=np.frombuffer(gzip.open(d+'/t10k-images-idx3-ubyte.gz').read(),np.uint8,offset=16)"
                      ".reshape(-1,28,28); y=np.frombuffer(gzip.open(d+'/t10k-labels-idx1-ubyte.gz').read(),np.uint8,"
                      "offset=8); print(int(x[1234].sum()), int(y[1234]), *np.bincount(y, minlength=10))\"";
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    char buf[512] = {0};
    ASSERT_NE(fgets(buf, sizeof(buf), p), nullptr);
    pclose(p);
    std::istringstream in(buf);
    int64_t py_sum, py_label;
    in >> py_sum >> py_label;
    EXPECT_EQ(sum, py_sum);
    EXPECT_EQ(label, py_label);
    for (int k = 0; k < 10; ++k) {
        int64_t c;
        in >> c;
        EXPECT_EQ(hist[static_cast<size_t>(k)], c) << "class " << k;
    }
}
