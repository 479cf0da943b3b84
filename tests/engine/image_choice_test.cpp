// The early steps run one image at a time on a batch (runtime::Plan::set_image_steps,
// engine/image_choice.h): every cut gives the numbers of the whole batch (INT8 with our kernels'
// channels-last outputs assembled as they are, FP32 on oneDNN's blocked layouts through their
// plain form, a value of the cut steps that is also a graph output), a hook sees whole batches,
// steps that cannot run one image at a time fail with a message, names parse back, `auto` times
// the cuts with a fixed batch and not without, and an engine file keeps the choice.
#include "engine/image_choice.h"

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
using engine::ImageSteps;
using test::random_tensor;

TEST(ImageSteps, NamesParseBackAndUnknownNamesAreRefused) {
    for (ImageSteps s : {ImageSteps::kAuto, ImageSteps::kOff, ImageSteps::kChosen}) {
        auto p = engine::parse_image_steps(engine::image_steps_name(s));
        ASSERT_TRUE(p.ok());
        EXPECT_EQ(*p, s);
    }
    EXPECT_EQ(*engine::parse_image_steps_request("auto"), ImageSteps::kAuto);
    EXPECT_EQ(*engine::parse_image_steps_request("off"), ImageSteps::kOff);
    auto chosen = engine::parse_image_steps_request("chosen");
    ASSERT_FALSE(chosen.ok());
    EXPECT_NE(chosen.status().message().find("auto, off"), std::string::npos) << chosen.status().message();
    auto bad = engine::parse_image_steps("some");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("'some'"), std::string::npos) << bad.status().message();

    auto g = test::zoo_model("resnet_v1", 5);
    ASSERT_TRUE(g);
    engine::EngineOptions o{.batch = 2, .image_steps = ImageSteps::kChosen};
    o.image_through = "no.such.node";
    auto e = engine::build_engine(*g, o);
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.status().message().find("'no.such.node' names no step"), std::string::npos) << e.status().message();
}

// Every cut against the whole batch, on an engine of batch 3.
void check_every_cut(const ir::Graph& g, double tol, const std::string& what) {
    SCOPED_TRACE(what);
    Tensor x = random_tensor({3, 1, 28, 28}, 21, 0.0f, 1.0f);
    const std::vector<Tensor> ref = test::run_ref(g, {x});
    auto e = engine::build_engine(g, {.threads = 2, .batch = 3, .image_steps = ImageSteps::kOff});
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    EXPECT_EQ(e->image_steps_note(), "whole batch (off)");
    auto whole = e->run(std::vector<Tensor>{x});
    ASSERT_TRUE(whole.ok()) << whole.status().to_string();
    EXPECT_LE(test::rel_diff((*whole)[0], ref[0]), tol);
    const size_t n = e->steps().size();
    for (size_t k = 1; k <= n; ++k) {
        ASSERT_TRUE(e->plan().set_image_steps(k).ok());
        auto r = e->run(std::vector<Tensor>{x});
        ASSERT_TRUE(r.ok()) << "cut " << k << ": " << r.status().to_string();
        ASSERT_EQ((*r)[0].dims(), (*whole)[0].dims()) << "cut " << k;
        // The same kernels on one image: the same numbers (oneDNN may pick another FP32
        // implementation for one image: float sums in another order).
        EXPECT_LE(test::rel_diff((*r)[0], (*whole)[0]), tol == 0.05 ? 1e-6 : 1e-5) << "cut " << k;
    }
    // A hook sees whole batches (the cut is not taken).
    ASSERT_TRUE(e->plan().set_image_steps(n / 2).ok());
    size_t calls = 0;
    auto h = e->run(std::vector<Tensor>{x}, [&](const ir::Node&, const std::vector<Tensor>& outs) {
        ++calls;
        for (const auto& t : outs) {
            if (t.rank() > 0) {
                EXPECT_EQ(t.dim(0), 3);
            }
        }
        return OkStatus();
    });
    ASSERT_TRUE(h.ok()) << h.status().to_string();
    EXPECT_GT(calls, 0u);
    EXPECT_LE(test::rel_diff((*h)[0], (*whole)[0]), 1e-5);
    // One image: nothing to cut; and back to the whole batch.
    auto one = e->run(std::vector<Tensor>{test::random_tensor({1, 1, 28, 28}, 22, 0.0f, 1.0f)});
    EXPECT_FALSE(one.ok()) << "the engine's batch is fixed to 3";
}

TEST(ImageSteps, EveryCutGivesTheNumbersOfTheWholeBatch) {
    Tensor calib = random_tensor({4, 1, 28, 28}, 11, 0.0f, 1.0f);
    auto q = test::quantized_zoo_model("efficientnet_b0", "efficientnet", calib);
    ASSERT_TRUE(q);
    check_every_cut(*q, 0.05, "efficientnet_b0 INT8");
    auto f = test::zoo_model("mobilenet_v2", 5);
    ASSERT_TRUE(f);
    check_every_cut(*f, 1e-4, "mobilenet_v2 FP32");
}

TEST(ImageSteps, AValueOfTheCutStepsThatIsAlsoAGraphOutput) {
    // x -> Relu -> r (a graph output) -> Add(r, x) -> y: r is handed on and returned.
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims({2, 3}));
    ir::Node* relu = g.add_node("Relu", {x}, {"r"}, "relu");
    ir::Node* add = g.add_node("Add", {relu->output(0), x}, {"y"}, "add");
    g.add_output(relu->output(0));
    g.add_output(add->output(0));
    auto e = engine::build_engine(g, {.backends = {"ref"}, .batch = 2, .image_steps = ImageSteps::kOff});
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    Tensor in = Tensor::from_vector<float>({2, 3}, {-1, 2, -3, 4, -5, 6});
    ASSERT_TRUE(e->plan().set_image_steps(1).ok());
    auto r = e->run(std::vector<Tensor>{in});
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)[0].to_vector<float>(), (std::vector<float>{0, 2, 0, 4, 0, 6}));
    EXPECT_EQ((*r)[1].to_vector<float>(), (std::vector<float>{-1, 4, -3, 8, -5, 12}));
}

TEST(ImageSteps, StepsThatNameTheBatchFailWithAMessage) {
    // Reshape to [2, 3] by a constant shape: on one image of [1, 3] it cannot run.
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims({2, 3}));
    ir::Value* shape = g.add_initializer("shape", Tensor::from_vector<int64_t>({2}, {2, 3}));
    ir::Node* rs = g.add_node("Reshape", {x, shape}, {"rs"}, "reshape");
    ir::Node* relu = g.add_node("Relu", {rs->output(0)}, {"y"}, "relu");
    g.add_output(relu->output(0));
    auto e = engine::build_engine(g, {.backends = {"ref"}, .batch = 2, .image_steps = ImageSteps::kOff});
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    ASSERT_TRUE(e->plan().set_image_steps(1).ok());
    auto r = e->run(std::vector<Tensor>{Tensor::zeros(DataType::kFloat32, {2, 3})});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().to_string().find("reshape"), std::string::npos) << r.status().to_string();
    // Off again: it runs.
    ASSERT_TRUE(e->plan().set_image_steps(0).ok());
    EXPECT_TRUE(e->run(std::vector<Tensor>{Tensor::zeros(DataType::kFloat32, {2, 3})}).ok());
    EXPECT_FALSE(e->plan().set_image_steps(99).ok());
}

TEST(ImageSteps, AutoTimesWithAFixedBatchAndTheEngineFileKeepsTheChoice) {
    if (!test::has_onednn()) GTEST_SKIP() << "oneDNN is not compiled in: the reference backend alone is not timed here";
    auto g = test::zoo_model("mobilenet_v2", 5);
    ASSERT_TRUE(g);
    auto d = engine::build_engine(*g, {.threads = 2, .batch = 0});
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_EQ(d->options().image_steps, ImageSteps::kAuto);
    EXPECT_NE(d->image_steps_note().find("no static shape"), std::string::npos) << d->image_steps_note();
    auto one = engine::build_engine(*g, {.threads = 2, .batch = 1});
    ASSERT_TRUE(one.ok()) << one.status().to_string();
    EXPECT_EQ(one->options().image_steps, ImageSteps::kOff);
    EXPECT_NE(one->image_steps_note().find("a batch of 1"), std::string::npos) << one->image_steps_note();

    auto e = engine::build_engine(*g, {.threads = 2, .batch = 4});
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    const std::string& note = e->image_steps_note();
    // Timed: a cut kept (kChosen, its node named) or the whole batch; both name the timings.
    EXPECT_NE(note.find("auto, timed per run: whole batch"), std::string::npos) << note;
    if (e->options().image_steps == ImageSteps::kChosen) {
        EXPECT_NE(note.find("through " + e->options().image_through + ")"), std::string::npos) << note;
        EXPECT_GT(e->plan().image_steps(), 0u);
    } else {
        EXPECT_EQ(e->options().image_steps, ImageSteps::kOff);
        EXPECT_EQ(e->plan().image_steps(), 0u);
    }
    const std::string file = test::temp_engine_file("qat_images");
    ASSERT_TRUE(engine::save_engine(*e, file, "mobilenet.onnx").ok());
    auto l = engine::load_engine(file);
    ASSERT_TRUE(l.ok()) << l.status().to_string();
    EXPECT_EQ(l->options().image_steps, e->options().image_steps);
    EXPECT_EQ(l->options().image_through, e->options().image_through);
    EXPECT_EQ(l->plan().image_steps(), e->plan().image_steps());
    // `off` when loading overrides the file's choice.
    auto o = engine::load_engine(file, {.image_steps = ImageSteps::kOff});
    fs::remove(file);
    ASSERT_TRUE(o.ok()) << o.status().to_string();
    EXPECT_EQ(o->plan().image_steps(), 0u);
    // A chosen cut by name, as an engine file gives it.
    engine::EngineOptions c{.threads = 2, .batch = 4, .image_steps = ImageSteps::kChosen};
    c.image_through = e->steps()[2].node->name();
    auto ce = engine::build_engine(*g, c);
    ASSERT_TRUE(ce.ok()) << ce.status().to_string();
    EXPECT_EQ(ce->plan().image_steps(), 3u);
    EXPECT_NE(ce->image_steps_note().find("chosen at build"), std::string::npos) << ce->image_steps_note();
}

}  // namespace
}  // namespace qat
