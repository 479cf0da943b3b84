// TensorProto <-> Tensor. Oracles: numpy + onnx.numpy_helper (an independent writer and reader
// of TensorProto files), and values written into typed fields by the test itself.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdlib>
#include <filesystem>

#include "core/file_util.h"
#include "core/npy.h"
#include "onnx/tensor_proto.h"

using namespace qat;
namespace fs = std::filesystem;
namespace qonnx = qat::onnx;
using TP = ::onnx::TensorProto;

namespace {

bool have_python_onnx() { return std::system("/usr/bin/python3 -c 'import onnx, numpy' >/dev/null 2>&1") == 0; }

fs::path temp_dir(const std::string& name) {
    fs::path d = fs::temp_directory_path() / ("qat_onnx_tp_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// A tensor of `dtype` whose element i is derived from i (sign and range fit every dtype).
Tensor pattern(DataType dtype, std::vector<int64_t> dims) {
    Tensor t = Tensor::empty(dtype, dims);
    for (int64_t i = 0; i < t.numel(); ++i) {
        double v = dtype == DataType::kBool ? (i % 3 == 0) : (dtype == DataType::kUint8 ? i * 7 % 251 : (i % 11) - 5.0);
        if (is_float(dtype)) v = v * 0.25;
        if (dtype == DataType::kFloat16) {
            static_cast<uint16_t*>(t.raw_data())[i] = float_to_half(static_cast<float>(v));
        } else {
            t.set_from_double(i, v);
        }
    }
    return t;
}

const DataType kAll[] = {DataType::kFloat32, DataType::kFloat16, DataType::kFloat64, DataType::kInt8, DataType::kUint8,
                         DataType::kInt16,   DataType::kInt32,   DataType::kInt64,   DataType::kBool};

}  // namespace

TEST(OnnxTensorProto, DtypeMappingBothWays) {
    for (DataType t : kAll) {
        auto back = qonnx::from_onnx_dtype(qonnx::to_onnx_dtype(t), "x");
        ASSERT_TRUE(back.ok()) << dtype_name(t);
        EXPECT_EQ(*back, t);
    }
    // Spot checks against ONNX's own enum (the numbering is ONNX's, not ours).
    EXPECT_EQ(qonnx::to_onnx_dtype(DataType::kFloat32), TP::FLOAT);
    EXPECT_EQ(qonnx::to_onnx_dtype(DataType::kInt8), TP::INT8);
    EXPECT_EQ(qonnx::to_onnx_dtype(DataType::kFloat16), TP::FLOAT16);
    for (int bad : {int(TP::STRING), int(TP::BFLOAT16), int(TP::UINT32), int(TP::UINT64), int(TP::UINT16),
                    int(TP::COMPLEX64), int(TP::COMPLEX128)}) {
        auto r = qonnx::from_onnx_dtype(bad, "initializer 'w' in m.onnx");
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
        EXPECT_NE(r.status().message().find("unsupported tensor dtype " + qonnx::onnx_dtype_name(bad) +
                                            " in initializer 'w' in m.onnx"),
                  std::string::npos)
            << r.status().message();
    }
    EXPECT_EQ(qonnx::onnx_dtype_name(TP::STRING), "STRING");
    EXPECT_FALSE(qonnx::from_onnx_dtype(99, "x").ok());
    EXPECT_FALSE(qonnx::from_onnx_dtype(0, "x").ok());
}

TEST(OnnxTensorProto, RawRoundTripEveryDtype) {
    for (DataType t : kAll) {
        for (auto dims : std::vector<std::vector<int64_t>>{{}, {0}, {7}, {2, 3, 4}}) {
            Tensor x = pattern(t, dims);
            auto back = qonnx::parse_tensor_proto(qonnx::serialize_tensor_proto(x, "x"), "x");
            ASSERT_TRUE(back.ok()) << back.status().to_string();
            EXPECT_TRUE(back->equals(x)) << dtype_name(t) << dims_to_string(dims);
        }
    }
}

// Typed storage, filled field by field the way ONNX documents it.
TEST(OnnxTensorProto, TypedFields) {
    TP p;
    p.set_data_type(TP::FLOAT);
    p.add_dims(3);
    for (float v : {1.5f, -2.0f, 3.25f}) p.add_float_data(v);
    auto f = qonnx::parse_tensor_proto(p.SerializeAsString(), "f");
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ(f->to_vector<float>(), (std::vector<float>{1.5f, -2.0f, 3.25f}));

    TP h;  // float16 travels as bit patterns in int32_data
    h.set_data_type(TP::FLOAT16);
    h.add_dims(2);
    h.add_int32_data(0x3C00);  // 1.0
    h.add_int32_data(0xC000);  // -2.0
    auto hf = qonnx::parse_tensor_proto(h.SerializeAsString(), "h");
    ASSERT_TRUE(hf.ok()) << hf.status().to_string();
    EXPECT_EQ(hf->dtype(), DataType::kFloat16);
    EXPECT_EQ(half_to_float(static_cast<const uint16_t*>(hf->raw_data())[0]), 1.0f);
    EXPECT_EQ(half_to_float(static_cast<const uint16_t*>(hf->raw_data())[1]), -2.0f);

    TP i8;
    i8.set_data_type(TP::INT8);
    i8.add_dims(3);
    for (int v : {-128, 0, 127}) i8.add_int32_data(v);
    auto ti8 = qonnx::parse_tensor_proto(i8.SerializeAsString(), "i8");
    ASSERT_TRUE(ti8.ok());
    EXPECT_EQ(ti8->to_vector<int8_t>(), (std::vector<int8_t>{-128, 0, 127}));

    TP u8;
    u8.set_data_type(TP::UINT8);
    u8.add_dims(2);
    u8.add_int32_data(255);
    u8.add_int32_data(3);
    auto tu8 = qonnx::parse_tensor_proto(u8.SerializeAsString(), "u8");
    ASSERT_TRUE(tu8.ok());
    EXPECT_EQ(tu8->to_vector<uint8_t>(), (std::vector<uint8_t>{255, 3}));

    TP i64;
    i64.set_data_type(TP::INT64);
    i64.add_int64_data(int64_t{1} << 40);  // scalar
    auto ti64 = qonnx::parse_tensor_proto(i64.SerializeAsString(), "i64");
    ASSERT_TRUE(ti64.ok());
    EXPECT_EQ(ti64->rank(), 0u);
    EXPECT_EQ(ti64->data<int64_t>()[0], int64_t{1} << 40);

    TP d;
    d.set_data_type(TP::DOUBLE);
    d.add_dims(1);
    d.add_double_data(0.1);
    auto td = qonnx::parse_tensor_proto(d.SerializeAsString(), "d");
    ASSERT_TRUE(td.ok());
    EXPECT_EQ(td->data<double>()[0], 0.1);

    TP b;
    b.set_data_type(TP::BOOL);
    b.add_dims(3);
    for (int v : {1, 0, 1}) b.add_int32_data(v);
    auto tb = qonnx::parse_tensor_proto(b.SerializeAsString(), "b");
    ASSERT_TRUE(tb.ok());
    EXPECT_EQ(tb->to_vector<bool>(), (std::vector<bool>{true, false, true}));

    TP i16;
    i16.set_data_type(TP::INT16);
    i16.add_dims(1);
    i16.add_int32_data(-30000);
    auto ti16 = qonnx::parse_tensor_proto(i16.SerializeAsString(), "i16");
    ASSERT_TRUE(ti16.ok());
    EXPECT_EQ(ti16->data<int16_t>()[0], -30000);
}

TEST(OnnxTensorProto, BadTensorsAreRefusedClearly) {
    TP s;
    s.set_data_type(TP::STRING);
    s.add_string_data("hello");
    auto rs = qonnx::parse_tensor_proto(s.SerializeAsString(), "initializer 'names'");
    ASSERT_FALSE(rs.ok());
    EXPECT_NE(rs.status().message().find("unsupported tensor dtype STRING in initializer 'names'"), std::string::npos);

    TP bf;
    bf.set_data_type(TP::BFLOAT16);
    bf.add_dims(1);
    bf.add_int32_data(0x3F80);
    auto rbf = qonnx::parse_tensor_proto(bf.SerializeAsString(), "t");
    ASSERT_FALSE(rbf.ok());
    EXPECT_NE(rbf.status().message().find("BFLOAT16"), std::string::npos);

    TP short_raw;  // 2 floats declared, 1 float of bytes
    short_raw.set_data_type(TP::FLOAT);
    short_raw.add_dims(2);
    short_raw.set_raw_data(std::string(4, '\0'));
    auto r1 = qonnx::parse_tensor_proto(short_raw.SerializeAsString(), "initializer 'w'");
    ASSERT_FALSE(r1.ok());
    EXPECT_NE(r1.status().message().find("raw_data holds 4 bytes, expected 8"), std::string::npos)
        << r1.status().message();

    TP few;  // typed count mismatch
    few.set_data_type(TP::INT64);
    few.add_dims(3);
    few.add_int64_data(1);
    auto r2 = qonnx::parse_tensor_proto(few.SerializeAsString(), "w");
    ASSERT_FALSE(r2.ok());
    EXPECT_NE(r2.status().message().find("holds 1 values, expected 3"), std::string::npos) << r2.status().message();

    TP neg;
    neg.set_data_type(TP::FLOAT);
    neg.add_dims(-2);
    EXPECT_FALSE(qonnx::parse_tensor_proto(neg.SerializeAsString(), "w").ok());

    TP huge;  // dims that would need exabytes: refused before any allocation
    huge.set_data_type(TP::FLOAT);
    huge.add_dims(int64_t{1} << 40);
    huge.add_dims(int64_t{1} << 20);
    EXPECT_FALSE(qonnx::parse_tensor_proto(huge.SerializeAsString(), "w").ok());

    TP ext;
    ext.set_data_type(TP::FLOAT);
    ext.add_dims(4);
    ext.set_data_location(TP::EXTERNAL);
    auto* kv = ext.add_external_data();
    kv->set_key("location");
    kv->set_value("weights.bin");
    auto r3 = qonnx::parse_tensor_proto(ext.SerializeAsString(), "initializer 'w'");
    ASSERT_FALSE(r3.ok());
    EXPECT_EQ(r3.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(r3.status().message().find("external file (weights.bin)"), std::string::npos) << r3.status().message();

    EXPECT_FALSE(qonnx::parse_tensor_proto("", "empty.pb").ok());
    EXPECT_FALSE(qonnx::parse_tensor_proto("\xff\xff\xff\xff", "garbage.pb").ok());
}

TEST(OnnxTensorProto, FilesAndErrors) {
    fs::path d = temp_dir("files");
    Tensor x = pattern(DataType::kFloat32, {2, 5});
    std::string path = (d / "x.pb").string();
    ASSERT_TRUE(qonnx::save_tensor_pb(path, x, "x").ok());
    std::string name;
    auto back = qonnx::load_tensor_pb(path, &name);
    ASSERT_TRUE(back.ok()) << back.status().to_string();
    EXPECT_TRUE(back->equals(x));
    EXPECT_EQ(name, "x");
    EXPECT_FALSE(qonnx::load_tensor_pb((d / "missing.pb").string()).ok());
    EXPECT_FALSE(qonnx::load_tensor_pb(d.string()).ok());  // a directory
    ASSERT_TRUE(write_file_atomic((d / "empty.pb").string(), "").ok());
    auto e = qonnx::load_tensor_pb((d / "empty.pb").string());
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.status().message().find("empty.pb"), std::string::npos);
    // Saving into a folder that does not exist fails and leaves nothing behind.
    EXPECT_FALSE(qonnx::save_tensor_pb((d / "no" / "y.pb").string(), x).ok());
    EXPECT_FALSE(fs::exists(d / "no"));
    fs::remove_all(d);
}

// numpy_helper.from_array writes TensorProto files; numpy writes the same data as .npy. Both must
// load to the same tensor, and a .pb we write must read back in numpy_helper with our values.
TEST(OnnxTensorProto, MatchesOnnxNumpyHelper) {
    if (!have_python_onnx()) GTEST_SKIP() << "/usr/bin/python3 with onnx and numpy not available: no numpy oracle";
    fs::path d = temp_dir("numpy");
    std::string script = R"(
import numpy as np, onnx, sys
from onnx import numpy_helper
d = sys.argv[1]
rng = np.random.default_rng(7)
arrays = {
  'f32': rng.standard_normal((3, 4)).astype(np.float32),
  'f16': rng.standard_normal((5,)).astype(np.float16),
  'f64': rng.standard_normal((2, 2)),
  'i8': rng.integers(-128, 128, (6,)).astype(np.int8),
  'u8': rng.integers(0, 256, (2, 3)).astype(np.uint8),
  'i16': rng.integers(-30000, 30000, (4,)).astype(np.int16),
  'i32': rng.integers(-2**31, 2**31 - 1, (3,)).astype(np.int32),
  'i64': rng.integers(-2**62, 2**62, (2, 1, 2)).astype(np.int64),
  'bool': rng.integers(0, 2, (7,)).astype(bool),
  'scalar': np.array(3.5, dtype=np.float32),
}
for k, a in arrays.items():
    np.save(f'{d}/{k}.npy', a)
    with open(f'{d}/{k}.pb', 'wb') as f:
        f.write(numpy_helper.from_array(a, k).SerializeToString())
# typed (non-raw) storage too, via onnx.helper.make_tensor with raw=False
t = onnx.helper.make_tensor('typed', onnx.TensorProto.INT8, [3], [-5, 0, 7], raw=False)
open(f'{d}/typed.pb', 'wb').write(t.SerializeToString())
np.save(f'{d}/typed.npy', np.array([-5, 0, 7], dtype=np.int8))
)";
    ASSERT_TRUE(write_file_atomic((d / "gen.py").string(), script).ok());
    ASSERT_EQ(std::system(("/usr/bin/python3 " + (d / "gen.py").string() + " " + d.string()).c_str()), 0);
    for (const char* k : {"f32", "f16", "f64", "i8", "u8", "i16", "i32", "i64", "bool", "scalar", "typed"}) {
        std::string name;
        auto pb = qonnx::load_tensor_pb((d / (std::string(k) + ".pb")).string(), &name);
        auto npy = load_npy((d / (std::string(k) + ".npy")).string());
        ASSERT_TRUE(pb.ok()) << k << ": " << pb.status().to_string();
        ASSERT_TRUE(npy.ok()) << k << ": " << npy.status().to_string();
        EXPECT_TRUE(pb->equals(*npy)) << k << ": " << pb->desc() << " vs " << npy->desc();
        EXPECT_EQ(name, k);
    }
    // Our writer, numpy_helper's reader.
    Tensor y = pattern(DataType::kInt16, {2, 3});
    ASSERT_TRUE(qonnx::save_tensor_pb((d / "ours.pb").string(), y, "ours").ok());
    std::string check =
        "import numpy as np, onnx, sys; from onnx import numpy_helper; t = onnx.TensorProto(); "
        "t.ParseFromString(open(sys.argv[1], 'rb').read()); "
        "a = numpy_helper.to_array(t); "
        "assert a.dtype == np.int16 and a.shape == (2, 3), (a.dtype, a.shape); "
        "assert (a.ravel() == np.array([(i % 11) - 5 for i in range(6)])).all(), a";
    EXPECT_EQ(std::system(("/usr/bin/python3 -c \"" + check + "\" " + (d / "ours.pb").string()).c_str()), 0);
    fs::remove_all(d);
}

// The ONNX node tests' data files, read by us and by numpy_helper.
TEST(OnnxTensorProto, ReadsOnnxTestData) {
    const std::string pb =
        "/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding/test_data_set_0/input_1.pb";
    if (!fs::exists(pb)) GTEST_SKIP() << "libonnx-testdata not installed (" << pb << " missing)";
    if (!have_python_onnx()) GTEST_SKIP() << "/usr/bin/python3 with onnx and numpy not available: no numpy oracle";
    fs::path d = temp_dir("testdata");
    std::string npy = (d / "w.npy").string();
    std::string cmd =
        "/usr/bin/python3 -c \"import numpy as np, onnx; from onnx import numpy_helper; t = onnx.TensorProto(); "
        "t.ParseFromString(open('" +
        pb + "', 'rb').read()); np.save('" + npy + "', numpy_helper.to_array(t))\"";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    auto ours = qonnx::load_tensor_pb(pb);
    auto ref = load_npy(npy);
    ASSERT_TRUE(ours.ok()) << ours.status().to_string();
    ASSERT_TRUE(ref.ok());
    EXPECT_TRUE(ours->equals(*ref)) << ours->desc() << " vs " << ref->desc();
    fs::remove_all(d);
}
