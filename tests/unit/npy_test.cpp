#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/file_util.h"
#include "core/npy.h"

using namespace qat;

TEST(Npy, RoundTripShapes) {
    for (auto dims : std::vector<std::vector<int64_t>>{{}, {5}, {2, 3}, {1, 2, 3, 4}}) {
        Tensor t = Tensor::empty(DataType::kFloat32, dims);
        for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 0.5f * static_cast<float>(i) - 1.0f;
        auto back = parse_npy(serialize_npy(t));
        ASSERT_TRUE(back.ok()) << back.status().to_string();
        EXPECT_TRUE(back->equals(t)) << dims_to_string(dims);
    }
}

// numpy itself is the oracle for the header format: a file written by numpy must parse, and a
// file we write must load in numpy with the same values.
TEST(Npy, MatchesNumpy) {
    if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
        GTEST_SKIP() << "numpy (python3-numpy) not installed: cannot cross-check .npy against numpy";
    auto dir = std::filesystem::temp_directory_path() / "qat_npy_test";
    std::filesystem::create_directories(dir);
    std::string a = (dir / "a.npy").string(), b = (dir / "b.npy").string();
    std::string cmd = "/usr/bin/python3 -c \"import numpy as np; np.save('" + a +
                      "', np.arange(24, dtype=np.int64).reshape(2,3,4) - 5)\"";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    auto t = load_npy(a);
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    EXPECT_EQ(t->dims(), (std::vector<int64_t>{2, 3, 4}));
    EXPECT_EQ(t->data<int64_t>()[23], 18);

    Tensor f = Tensor::from_vector<float>({2, 2}, {1.5f, -2.0f, 3.25f, 0.0f});
    ASSERT_TRUE(save_npy(b, f).ok());
    cmd = "/usr/bin/python3 -c \"import numpy as np, sys; x=np.load('" + b +
          "'); sys.exit(0 if x.shape==(2,2) and x.dtype==np.float32 and x[1,0]==3.25 else 1)\"";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    std::filesystem::remove_all(dir);
}

TEST(Npy, BadInput) {
    EXPECT_FALSE(parse_npy("hello").ok());
    Tensor t = Tensor::zeros(DataType::kFloat32, {4, 4});
    std::string bytes = serialize_npy(t);
    auto trunc = parse_npy(bytes.substr(0, bytes.size() - 3), "x.npy");
    ASSERT_FALSE(trunc.ok());
    EXPECT_NE(trunc.status().message().find("truncated"), std::string::npos);
    EXPECT_FALSE(load_npy("/nonexistent/file.npy").ok());
}

TEST(FileUtil, AtomicWriteLeavesNothingOnFailure) {
    auto dir = std::filesystem::temp_directory_path() / "qat_atomic_test";
    std::filesystem::create_directories(dir);
    std::string p = (dir / "out.bin").string();
    Status s = write_atomic_with(p, [](const std::string& tmp) -> Status {
        std::ofstream(tmp) << "partial";
        return io_error("simulated failure");
    });
    EXPECT_FALSE(s.ok());
    EXPECT_FALSE(std::filesystem::exists(p));
    EXPECT_TRUE(std::filesystem::is_empty(dir));
    EXPECT_FALSE(check_writable_file((dir / "missing" / "x").string()).ok());
    std::filesystem::remove_all(dir);
}
