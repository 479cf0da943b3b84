// The FP32 convolution layout choice (engine/layout_choice.h): names, when `auto` times the two
// layouts and when it does not, and that an engine file keeps the choice. Outputs in either
// layout are checked against the reference run of the original graph.
#include "engine/layout_choice.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "backends/registry.h"
#include "engine/engine.h"
#include "engine/engine_file.h"
#include "models/zoo.h"
#include "passes/engine_test_util.h"

namespace qat {
namespace {

namespace fs = std::filesystem;
using engine::Fp32Layout;
using test::random_tensor;

using test::has_onednn;

// MobileNetV2 at 3x160x160: ~150M FP32 multiply-adds in its convolutions, over kMinTimedMacs.
std::unique_ptr<ir::Graph> big_model() {
    models::ZooOptions o;
    o.channels = 3;
    o.height = o.width = 160;
    o.variant = models::ZooVariant::kFull;
    o.seed = 3;
    o.random_bn_stats = true;
    auto g = models::build_zoo_model("mobilenet_v2", o);
    EXPECT_TRUE(g.ok()) << g.status().to_string();
    return g.ok() ? std::move(g).value() : nullptr;
}

// Output layout of every step after one run of `x` ("" = plain), e.g. "onednn:aBcd16b f32".
std::vector<std::string> step_layouts(engine::Engine& e, const Tensor& x) {
    e.plan().reset_profile();
    e.plan().set_profiling(true);
    EXPECT_TRUE(e.run(std::vector<Tensor>{x}).ok());
    std::vector<std::string> out;
    for (const auto& p : e.plan().profile()) out.push_back(p.out_layout);
    e.plan().set_profiling(false);
    return out;
}

int count_blocked(const std::vector<std::string>& layouts) {
    int n = 0;
    for (const auto& l : layouts) n += l.find("aBcd16b") != std::string::npos;
    return n;
}

TEST(Fp32Layout, NamesParseBackAndUnknownNamesAreRefused) {
    for (Fp32Layout l : {Fp32Layout::kAuto, Fp32Layout::kBackend, Fp32Layout::kBlocked}) {
        auto p = engine::parse_fp32_layout(engine::fp32_layout_name(l));
        ASSERT_TRUE(p.ok());
        EXPECT_EQ(*p, l);
    }
    auto bad = engine::parse_fp32_layout("sideways");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("'sideways'"), std::string::npos) << bad.status().message();
    EXPECT_NE(bad.status().message().find("auto, backend, blocked"), std::string::npos) << bad.status().message();
}

TEST(Fp32Layout, SmallModelsAndDynamicBatchesAreNotTimed) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN is not compiled in: no layout to choose";
    models::ZooOptions o;
    o.seed = 1;
    auto small = models::build_zoo_model("mobilenet_v2", o);
    ASSERT_TRUE(small.ok());
    auto e = engine::build_engine(**small, {.threads = 2, .batch = 2});
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    EXPECT_LT(engine::fp32_conv_macs(e->plan()), engine::kMinTimedMacs);
    EXPECT_EQ(e->options().fp32_layout, Fp32Layout::kBackend);
    EXPECT_NE(e->fp32_layout_note().find("fewer than"), std::string::npos) << e->fp32_layout_note();

    auto g = big_model();
    ASSERT_TRUE(g);
    auto d = engine::build_engine(*g, {.threads = 2, .batch = 0});
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_EQ(d->options().fp32_layout, Fp32Layout::kBackend);
    EXPECT_NE(d->fp32_layout_note().find("no static shape"), std::string::npos) << d->fp32_layout_note();
}

TEST(Fp32Layout, AutoTimesBothAndTheEngineFileKeepsTheChoice) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN is not compiled in: no layout to choose";
    auto g = big_model();
    ASSERT_TRUE(g);
    auto e = engine::build_engine(*g, {.threads = 2, .batch = 1});
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    EXPECT_GE(engine::fp32_conv_macs(e->plan()), engine::kMinTimedMacs);
    const Fp32Layout chosen = e->options().fp32_layout;
    ASSERT_NE(chosen, Fp32Layout::kAuto);
    const std::string& note = e->fp32_layout_note();
    EXPECT_EQ(note.rfind(engine::fp32_layout_name(chosen), 0), 0u) << note;
    EXPECT_NE(note.find("timed at build: backend "), std::string::npos) << note;

    Tensor x = random_tensor({1, 3, 160, 160}, 5, 0.0f, 1.0f);
    auto ref = test::run_ref(*g, {x});
    auto got = e->run(std::vector<Tensor>{x});
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_LE(test::rel_diff((*got)[0], ref[0]), 1e-4);
    const std::vector<std::string> built = step_layouts(*e, x);
    if (chosen == Fp32Layout::kBlocked) {
        EXPECT_GT(count_blocked(built), 0);
    }

    const fs::path file = fs::temp_directory_path() / ("qat_layout_" + std::to_string(::getpid()) + ".engine");
    ASSERT_TRUE(engine::save_engine(*e, file.string(), "big.onnx").ok());
    auto l = engine::load_engine(file.string());
    ASSERT_TRUE(l.ok()) << l.status().to_string();
    EXPECT_EQ(l->options().fp32_layout, chosen);
    EXPECT_NE(l->fp32_layout_note().find("not timed"), std::string::npos) << l->fp32_layout_note();
    EXPECT_EQ(step_layouts(*l, x), built);
    // Asking for the other layout when loading overrides the stored one; the numbers stay.
    const Fp32Layout other = chosen == Fp32Layout::kBlocked ? Fp32Layout::kBackend : Fp32Layout::kBlocked;
    auto o = engine::load_engine(file.string(), {.fp32_layout = other});
    fs::remove(file);
    ASSERT_TRUE(o.ok()) << o.status().to_string();
    EXPECT_EQ(o->options().fp32_layout, other);
    const std::vector<std::string> overridden = step_layouts(*o, x);
    if (other == Fp32Layout::kBlocked) {
        EXPECT_GT(count_blocked(overridden), 0);
    }
    auto got2 = o->run(std::vector<Tensor>{x});
    ASSERT_TRUE(got2.ok()) << got2.status().to_string();
    EXPECT_LE(test::rel_diff((*got2)[0], ref[0]), 1e-4);
}

}  // namespace
}  // namespace qat
