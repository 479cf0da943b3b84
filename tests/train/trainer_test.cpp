// The trainer end to end on a Fashion-MNIST subset and a small CNN, with the reference backend as
// the oracle of every accuracy: FP32 training; QAT that lifts a deliberately badly calibrated
// INT8 model and keeps a well calibrated one within a point of FP32; write-back -> export ->
// reimport gives the trainer's own top-1; resume at step k gives bitwise the weights of one
// uninterrupted run (one thread); and the bad inputs (checked before the first step).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "core/npy.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/random.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"
#include "quant/calibrate.h"
#include "quant/quantize.h"
#include "small_cnn.h"
#include "train/train.h"
#include "train_test_util.h"

using namespace qat;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kTrainSamples = 4096;
constexpr int64_t kValSamples = 1000;

bool have_fashion_mnist() { return fs::exists(data::fashion_mnist_dir()); }

fs::path temp_dir() {
    fs::path d = fs::temp_directory_path() / ("qat_train_test_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
}

train::TrainOptions base_options() {
    train::TrainOptions o;
    o.data = "fashion-mnist";
    o.train_limit = kTrainSamples;
    o.val_limit = kValSamples;
    o.batch_size = 64;
    o.quiet = true;
    o.seed = 3;
    return o;
}

// Top-1 (percent) of `g` on the first kValSamples test images, on the reference backend, after an
// ONNX export and reimport (what `qat eval` would read).
double ref_top1(const ir::Graph& g) {
    auto bytes = onnx::export_model_bytes(g);
    EXPECT_TRUE(bytes.ok()) << bytes.status().to_string();
    if (!bytes.ok()) return -1;
    auto back = onnx::import_model_bytes(*bytes, "exported model");
    EXPECT_TRUE(back.ok()) << back.status().to_string();
    if (!back.ok()) return -1;
    auto ds = data::open_dataset("fashion-mnist", data::Split::kTest);
    EXPECT_TRUE(ds.ok());
    std::vector<int64_t> idx(kValSamples);
    for (int64_t i = 0; i < kValSamples; ++i) idx[i] = i;
    auto sub = data::make_subset(*ds, idx);
    data::LoaderOptions lo;
    lo.batch_size = 250;
    lo.preprocess = data::default_preprocess((*sub)->sample_dtype());
    auto loader = data::Loader::create(*sub, lo);
    EXPECT_TRUE(loader.ok());
    auto plan = runtime::Plan::compile(**back, {.registry = &train_test::ref_registry()});
    EXPECT_TRUE(plan.ok()) << plan.status().to_string();
    if (!plan.ok()) return -1;
    int64_t correct = 0, n = 0;
    data::Batch b;
    while (*(*loader)->next(&b)) {
        auto out = (*plan)->run({b.images});
        EXPECT_TRUE(out.ok()) << out.status().to_string();
        if (!out.ok()) return -1;
        const Tensor& logits = (*out)[0];
        const int64_t classes = logits.dim(1);
        for (int64_t i = 0; i < b.size(); ++i) {
            const float* row = logits.data<float>() + i * classes;
            int64_t best = 0;
            for (int64_t c = 1; c < classes; ++c)
                if (row[c] > row[best]) best = c;
            correct += best == b.labels.data<int64_t>()[i];
        }
        n += b.size();
    }
    EXPECT_EQ(n, kValSamples);
    return 100.0 * static_cast<double>(correct) / static_cast<double>(n);
}

// The FP32 model every QAT test starts from: the small CNN trained for 3 epochs on the subset.
struct Baseline {
    std::unique_ptr<ir::Graph> fp32;
    double trainer_top1 = -1, ref_top1 = -1;
};

const Baseline& baseline() {
    static const Baseline b = [] {
        Baseline r;
        r.fp32 = train_test::small_cnn(7);
        train::TrainOptions o = base_options();
        o.epochs = 3;
        o.lr = 0.05;
        auto s = train::run_training(*r.fp32, o);
        EXPECT_TRUE(s.ok()) << s.status().to_string();
        if (!s.ok()) return r;
        r.trainer_top1 = s->final_val_top1;
        r.ref_top1 = ref_top1(*r.fp32);
        return r;
    }();
    return b;
}

// The baseline with Q/DQ placed; activation ranges from max calibration on 512 training images,
// multiplied by `amax_factor` (1: well calibrated; far below 1: deliberately bad).
std::unique_ptr<ir::Graph> quantized(float amax_factor) {
    auto g = baseline().fp32->clone();
    auto ds = data::open_dataset("fashion-mnist", data::Split::kTrain);
    EXPECT_TRUE(ds.ok());
    auto sub = data::make_subset(*ds, data::select_subset((*ds)->size(), 512, 11));
    data::LoaderOptions lo;
    lo.batch_size = 128;
    lo.preprocess = data::default_preprocess((*sub)->sample_dtype());
    auto loader = data::Loader::create(*sub, lo);
    EXPECT_TRUE(loader.ok());
    auto src = quant::make_loader_source(std::move(*loader), "fashion-mnist calibration");
    quant::CalibrationSession session(src.get(), {.run = {.backends = {"ref"}}});
    quant::QuantizeOptions q;
    auto fn = session.range_fn({.method = quant::CalibMethod::kMax});
    q.activation_ranges = [fn, amax_factor](
                              const ir::Graph& fg,
                              const std::vector<std::string>& tensors) -> Result<std::map<std::string, float>> {
        QAT_ASSIGN_OR_RETURN(auto amax, fn(fg, tensors));
        for (auto& [name, a] : amax) a *= amax_factor;
        return amax;
    };
    auto s = quant::quantize_graph(*g, q);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_TRUE(s.ok() && s->calibrated);
    return g;
}

class TrainerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST is not installed in " << data::fashion_mnist_dir();
    }
};

}  // namespace

TEST_F(TrainerTest, Fp32TrainingLearnsAndWriteBackMatchesTheTrainer) {
    const Baseline& b = baseline();
    ASSERT_TRUE(b.fp32);
    // Chance is 10%; the small CNN reaches ~80% on 4k images in 3 epochs.
    EXPECT_GT(b.trainer_top1, 70.0);
    EXPECT_NEAR(b.ref_top1, b.trainer_top1, 0.2) << "written-back FP32 model on the reference backend";
}

TEST_F(TrainerTest, QatKeepsAWellCalibratedModelWithinAPointOfFp32) {
    const Baseline& b = baseline();
    ASSERT_GT(b.ref_top1, 0);
    auto g = quantized(1.0f);
    const double ptq = ref_top1(*g);
    train::TrainOptions o = base_options();
    o.finetune = true;
    o.steps = 192;  // 3 epochs of the subset
    o.lr = 1e-3;
    auto s = train::run_training(*g, o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_EQ(s->steps, 192);
    EXPECT_GT(s->quantizers, 0);
    const double qat = ref_top1(*g);
    std::printf("FP32 %.2f%%  PTQ %.2f%%  QAT %.2f%% (trainer %.2f%%)\n", b.ref_top1, ptq, qat, s->final_val_top1);
    EXPECT_GE(qat, b.ref_top1 - 1.0);
    // Write-back: the exported Q/DQ model on the reference backend gives the trainer's top-1.
    EXPECT_NEAR(qat, s->final_val_top1, 0.2);
}

TEST_F(TrainerTest, QatLiftsABadlyCalibratedModelByAClearMargin) {
    const Baseline& b = baseline();
    ASSERT_GT(b.ref_top1, 0);
    // Ranges 1/20 of the real ones: almost every activation clips.
    auto g = quantized(0.05f);
    const double ptq = ref_top1(*g);
    ASSERT_LT(ptq, b.ref_top1 - 15.0) << "the bad calibration is not bad enough to test anything";
    train::TrainOptions o = base_options();
    o.finetune = true;
    o.steps = 192;
    o.lr = 1e-3;
    o.module.activation_mode = train::RangeMode::kEma;
    o.module.ema_momentum = 0.05f;
    auto s = train::run_training(*g, o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    const double qat = ref_top1(*g);
    std::printf("FP32 %.2f%%  bad PTQ %.2f%%  QAT %.2f%% (trainer %.2f%%)\n", b.ref_top1, ptq, qat, s->final_val_top1);
    EXPECT_GT(qat, ptq + 15.0);
    EXPECT_GE(qat, b.ref_top1 - 3.0);
    EXPECT_NEAR(qat, s->final_val_top1, 0.2);
}

TEST_F(TrainerTest, LearnedRangesAlsoTrainAndWriteBack) {
    ASSERT_GT(baseline().ref_top1, 0);
    auto g = quantized(1.0f);
    train::TrainOptions o = base_options();
    o.finetune = true;
    o.steps = 64;
    o.lr = 1e-3;
    o.module.activation_mode = train::RangeMode::kLearned;
    o.module.learned_weights = true;
    auto s = train::run_training(*g, o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_NEAR(ref_top1(*g), s->final_val_top1, 0.2);
    EXPECT_GE(s->final_val_top1, baseline().ref_top1 - 3.0);
}

// ---- resume -------------------------------------------------------------------------------------

namespace {

// Every initializer of `g`, by name.
std::map<std::string, Tensor> initializers(const ir::Graph& g) {
    std::map<std::string, Tensor> m;
    for (const ir::Value* v : g.initializers()) m[v->name()] = v->constant();
    return m;
}

void expect_resume_is_bitwise(train::TrainOptions o, std::unique_ptr<ir::Graph> model, int64_t k) {
    const fs::path dir = temp_dir();
    o.threads = 1;
    o.train_limit = 1024;  // 16 steps an epoch: the runs cross epoch ends
    o.val_limit = 200;
    o.checkpoint = (dir / "resume.ckpt").string();

    auto full = model->clone();
    auto one = train::run_training(*full, o);
    ASSERT_TRUE(one.ok()) << one.status().to_string();
    ASSERT_FALSE(one->interrupted);

    auto part = model->clone();
    train::TrainOptions first = o;
    first.stop_after_steps = k;
    auto a = train::run_training(*part, first);
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    ASSERT_TRUE(a->interrupted);
    ASSERT_EQ(a->steps, k);
    ASSERT_EQ(a->checkpoint_written, o.checkpoint);

    train::TrainOptions second = o;
    second.resume = o.checkpoint;
    auto resumed = model->clone();  // the weights come from the checkpoint
    auto r = train::run_training(*resumed, second);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->first_step, k);
    EXPECT_EQ(r->steps, one->steps);
    // Same loss sequence, bit for bit.
    std::vector<double> tail(one->step_losses.begin() + k, one->step_losses.end());
    EXPECT_EQ(r->step_losses, tail);
    std::vector<double> head(one->step_losses.begin(), one->step_losses.begin() + k);
    EXPECT_EQ(a->step_losses, head);
    // Same final weights, statistics and scales, bit for bit.
    auto want = initializers(*full), got = initializers(*resumed);
    ASSERT_EQ(want.size(), got.size());
    for (const auto& [name, t] : want) {
        ASSERT_TRUE(got.count(name)) << name;
        EXPECT_TRUE(got.at(name).equals(t)) << name << " differs after resume";
    }
    ASSERT_EQ(one->epochs.size(), r->epochs.size());
    for (size_t i = 0; i < one->epochs.size(); ++i) {
        EXPECT_EQ(one->epochs[i].train_loss, r->epochs[i].train_loss) << "epoch " << i + 1;
        EXPECT_EQ(one->epochs[i].val_top1, r->epochs[i].val_top1) << "epoch " << i + 1;
    }
    fs::remove_all(dir);
}

}  // namespace

TEST_F(TrainerTest, ResumeGivesTheSameWeightsBitwiseFp32AdamCosine) {
    train::TrainOptions o = base_options();
    o.steps = 40;
    o.lr = 1e-3;
    o.optimizer = train::OptimizerKind::kAdam;
    o.schedule = train::ScheduleKind::kCosine;
    o.warmup_steps = 5;
    o.random_crop = true;
    o.hflip = true;
    expect_resume_is_bitwise(o, train_test::small_cnn(5), 21);
}

TEST_F(TrainerTest, ResumeGivesTheSameWeightsBitwiseQatSgdEma) {
    ASSERT_GT(baseline().ref_top1, 0);
    train::TrainOptions o = base_options();
    o.finetune = true;
    o.steps = 40;
    o.lr = 1e-3;
    o.module.activation_mode = train::RangeMode::kEma;
    o.freeze_bn_after = 30;
    expect_resume_is_bitwise(o, quantized(1.0f), 16);  // exactly at an epoch end
}

// ---- bad input ----------------------------------------------------------------------------------

namespace {

std::string run_error(ir::Graph& g, const train::TrainOptions& o) {
    auto s = train::run_training(g, o);
    EXPECT_FALSE(s.ok()) << "training should have refused this input";
    return s.ok() ? "" : s.status().to_string();
}

}  // namespace

TEST(TrainerBadInput, OpWithoutTrainingSupportIsNamed) {
    ir::Graph g;
    g.info().set_opset("", 13);
    ir::Builder b(g, 1);
    ir::Value* x = b.input("input", DataType::kFloat32, Shape{Dim::symbolic("N"), 1, 28, 28});
    ir::Value* f = b.flatten(x, 1, "flatten");
    ir::Value* l = b.gemm(f, 10, "fc");
    b.output(b.node("TopK", {l, b.int64s("k", {10})}, {{"axis", ir::Attribute::from_int(1)}}, "my_topk", 2)->output(0));
    train::TrainOptions o = base_options();
    const fs::path dir = temp_dir();
    Tensor imgs = train_test::random_tensor({64, 1, 28, 28}, 1, 0, 1);
    ASSERT_TRUE(save_npy((dir / "x.npy").string(), imgs).ok());
    std::vector<int64_t> lab(64);
    for (int i = 0; i < 64; ++i) lab[i] = i % 10;
    ASSERT_TRUE(save_npy((dir / "y.npy").string(), Tensor::from_vector<int64_t>({64}, lab)).ok());
    o.data = "npy:" + (dir / "x.npy").string() + "," + (dir / "y.npy").string();
    o.validate = false;
    const std::string e = run_error(g, o);
    EXPECT_NE(e.find("my_topk"), std::string::npos) << e;
    EXPECT_NE(e.find("TopK"), std::string::npos) << e;
}

TEST(TrainerBadInput, LabelsOutOfRangeAndDataShapeMismatch) {
    const fs::path dir = temp_dir();
    std::vector<int64_t> lab(64);
    for (int i = 0; i < 64; ++i) lab[i] = i % 12;  // labels 10 and 11 for a 10-class model
    ASSERT_TRUE(save_npy((dir / "y.npy").string(), Tensor::from_vector<int64_t>({64}, lab)).ok());
    ASSERT_TRUE(save_npy((dir / "x.npy").string(), train_test::random_tensor({64, 1, 28, 28}, 2, 0, 1)).ok());
    ASSERT_TRUE(save_npy((dir / "x20.npy").string(), train_test::random_tensor({64, 1, 20, 20}, 3, 0, 1)).ok());
    auto g = train_test::small_cnn(1);
    train::TrainOptions o = base_options();
    o.validate = false;
    o.data = "npy:" + (dir / "x.npy").string() + "," + (dir / "y.npy").string();
    std::string e = run_error(*g, o);
    EXPECT_NE(e.find("label 10"), std::string::npos) << e;
    EXPECT_NE(e.find("10-class"), std::string::npos) << e;

    for (int i = 0; i < 64; ++i) lab[i] = i % 10;
    ASSERT_TRUE(save_npy((dir / "y.npy").string(), Tensor::from_vector<int64_t>({64}, lab)).ok());
    o.data = "npy:" + (dir / "x20.npy").string() + "," + (dir / "y.npy").string();
    e = run_error(*g, o);
    EXPECT_NE(e.find("input"), std::string::npos) << e;
    EXPECT_NE(e.find("28"), std::string::npos) << e;
    EXPECT_NE(e.find("20"), std::string::npos) << e;
    fs::remove_all(dir);
}

TEST(TrainerBadInput, UnwritableCheckpointAndLogAreRefusedBeforeTraining) {
    auto g = train_test::small_cnn(1);
    train::TrainOptions o = base_options();
    o.data = "fashion-mnist";
    o.train_limit = 0;
    o.epochs = 1000;  // were the check after training, this test would not end
    o.checkpoint = "/nonexistent_qat_dir/run.ckpt";
    const auto t0 = std::chrono::steady_clock::now();
    std::string e = run_error(*g, o);
    EXPECT_NE(e.find("/nonexistent_qat_dir"), std::string::npos) << e;
    EXPECT_NE(e.find("--checkpoint"), std::string::npos) << e;
    o.checkpoint.clear();
    o.log_path = "/nonexistent_qat_dir/log.json";
    e = run_error(*g, o);
    EXPECT_NE(e.find("--log"), std::string::npos) << e;
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30.0);
}

TEST_F(TrainerTest, CorruptCheckpointIsRefusedAndTheLastGoodOneKept) {
    const fs::path dir = temp_dir();
    auto g = train_test::small_cnn(2);
    train::TrainOptions o = base_options();
    o.train_limit = 512;
    o.val_limit = 100;
    o.steps = 20;
    o.checkpoint = (dir / "good.ckpt").string();
    o.stop_after_steps = 5;
    auto a = train::run_training(*g, o);
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    ASSERT_TRUE(a->interrupted);
    auto good = read_file(o.checkpoint);
    ASSERT_TRUE(good.ok());

    std::string flipped = *good;
    flipped[flipped.size() / 2] ^= 0x5a;
    ASSERT_TRUE(write_file_atomic((dir / "flipped.ckpt").string(), flipped).ok());
    ASSERT_TRUE(write_file_atomic((dir / "short.ckpt").string(), good->substr(0, good->size() / 3)).ok());
    ASSERT_TRUE(write_file_atomic((dir / "junk.ckpt").string(), "not a checkpoint at all").ok());

    o.stop_after_steps = -1;
    for (const char* bad : {"flipped.ckpt", "short.ckpt", "junk.ckpt"}) {
        o.resume = (dir / bad).string();
        auto g2 = train_test::small_cnn(2);
        const std::string e = run_error(*g2, o);
        EXPECT_NE(e.find(bad), std::string::npos) << e;
        // The run stopped before writing anything: the last good checkpoint is intact.
        auto now = read_file(o.checkpoint);
        ASSERT_TRUE(now.ok());
        EXPECT_TRUE(*now == *good) << "the good checkpoint changed after resuming from " << bad;
    }
    // A checkpoint of another model is refused too.
    auto other = train_test::small_cnn(2, 10, 28);
    other->find_node("conv1")->set_name("conv1_renamed");
    o.resume = o.checkpoint;
    const std::string e = run_error(*other, o);
    EXPECT_NE(e.find("another model"), std::string::npos) << e;
    fs::remove_all(dir);
}

TEST(TrainerBadInput, FinetuneNeedsQdqAndTrainRefusesIt) {
    auto g = train_test::small_cnn(1);
    train::TrainOptions o = base_options();
    o.finetune = true;
    std::string e = run_error(*g, o);
    EXPECT_NE(e.find("qat quantize"), std::string::npos) << e;
}
