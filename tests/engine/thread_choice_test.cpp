// The steps that run on one thread (engine/thread_choice.h): names, what `auto` times and when it
// does not, that the choice reaches the plan and survives an engine file, that an engine file
// naming a step the plan lacks is refused, and that one thread or two per step gives the numbers
// of the reference backend (INT8 with the squeeze-and-excitation and swish kernels of our own,
// FP32 on oneDNN).
#include "engine/thread_choice.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <set>

#include "backends/registry.h"
#include "core/file_util.h"
#include "engine/engine.h"
#include "engine/engine_file.h"
#include "engine/explain.h"
#include "models/zoo.h"
#include "passes/engine_test_util.h"

namespace qat {
namespace {

namespace fs = std::filesystem;
using engine::StepThreads;
using test::random_tensor;

using test::has_onednn;

std::unique_ptr<ir::Graph> zoo(const std::string& name) { return test::zoo_model(name, 5); }

std::vector<std::string> step_names(const engine::Engine& e) {
    std::vector<std::string> out;
    for (const auto& st : e.steps())
        if (st.node && st.backend != "constant") out.push_back(st.node->name());
    return out;
}

TEST(StepThreads, NamesParseBackAndUnknownNamesAreRefused) {
    for (StepThreads s : {StepThreads::kAuto, StepThreads::kAll, StepThreads::kChosen}) {
        auto p = engine::parse_step_threads(engine::step_threads_name(s));
        ASSERT_TRUE(p.ok());
        EXPECT_EQ(*p, s);
    }
    // What a user may ask for: auto or all; `chosen` only comes from engine files.
    EXPECT_EQ(*engine::parse_step_threads_request("auto"), StepThreads::kAuto);
    EXPECT_EQ(*engine::parse_step_threads_request("all"), StepThreads::kAll);
    auto chosen = engine::parse_step_threads_request("chosen");
    ASSERT_FALSE(chosen.ok());
    EXPECT_NE(chosen.status().message().find("auto, all"), std::string::npos) << chosen.status().message();
    auto bad = engine::parse_step_threads("some");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("'some'"), std::string::npos) << bad.status().message();
}

TEST(StepThreads, OneThreadPerStepGivesTheReferenceNumbers) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN is not compiled in: every step runs on the reference backend";
    Tensor calib = random_tensor({4, 1, 28, 28}, 11, 0.0f, 1.0f);
    Tensor x = random_tensor({2, 1, 28, 28}, 12, 0.0f, 1.0f);
    struct Case {
        std::string name;
        std::unique_ptr<ir::Graph> g;
        double tol;  // relative to the reference backend's output
    };
    std::vector<Case> cases;
    cases.push_back(
        {"efficientnet_b0 INT8", test::quantized_zoo_model("efficientnet_b0", "efficientnet", calib), 0.05});
    cases.push_back({"resnet_v1 FP32", zoo("resnet_v1"), 1e-4});
    for (auto& c : cases) {
        ASSERT_TRUE(c.g);
        SCOPED_TRACE(c.name);
        const std::vector<Tensor> ref = test::run_ref(*c.g, {x});
        auto all = engine::build_engine(*c.g, {.threads = 2, .batch = 2, .step_threads = StepThreads::kAll});
        ASSERT_TRUE(all.ok()) << all.status().to_string();
        EXPECT_EQ(all->options().serial_steps.size(), 0u);
        // Every step on one thread, by name (the way an engine file gives them).
        engine::EngineOptions one{.threads = 2, .batch = 2, .step_threads = StepThreads::kChosen};
        one.serial_steps = step_names(*all);
        auto e1 = engine::build_engine(*c.g, one);
        ASSERT_TRUE(e1.ok()) << e1.status().to_string();
        for (size_t i = 0; i < e1->steps().size(); ++i)
            if (e1->steps()[i].backend != "constant") {
                EXPECT_EQ(e1->plan().step_threads(i), 1) << i;
            }
        auto a = all->run(std::vector<Tensor>{x});
        auto b = e1->run(std::vector<Tensor>{x});
        ASSERT_TRUE(a.ok() && b.ok());
        EXPECT_LE(test::rel_diff((*a)[0], ref[0]), c.tol);
        EXPECT_LE(test::rel_diff((*b)[0], ref[0]), c.tol);
        // The same kernels split differently: the same numbers (integer sums; float sums that no
        // thread split re-associates).
        EXPECT_LE(test::rel_diff((*a)[0], (*b)[0]), 1e-6);
        // Back and forth on the same engine (kernels keep a state per thread count).
        ASSERT_TRUE(e1->plan().set_step_threads(1, 2).ok());
        auto c2 = e1->run(std::vector<Tensor>{x});
        ASSERT_TRUE(e1->plan().set_step_threads(1, 1).ok());
        auto c3 = e1->run(std::vector<Tensor>{x});
        ASSERT_TRUE(c2.ok() && c3.ok());
        EXPECT_LE(test::rel_diff((*c2)[0], (*b)[0]), 1e-6);
        EXPECT_LE(test::rel_diff((*c3)[0], (*b)[0]), 1e-6);
    }
}

TEST(StepThreads, AutoTimesSmallStepsAndTheEngineFileKeepsTheChoice) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN is not compiled in: nothing runs on more than one thread";
    auto g = zoo("resnet_v1");
    ASSERT_TRUE(g);
    auto e = engine::build_engine(*g, {.threads = 2, .batch = 1});
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    EXPECT_EQ(e->options().step_threads, StepThreads::kChosen);
    const std::string& note = e->step_threads_note();
    // Timed, unless a busy machine (another test process beside this one) made a run slower than
    // kMaxTimedRunMs: then not timed, every step on all threads.
    const bool timed = note.find("auto, timed") != std::string::npos;
    EXPECT_TRUE(timed || note.find("auto: not timed, one run takes") != std::string::npos) << note;
    // Whatever the timing chose: real step names, and exactly those steps on one thread.
    const std::vector<std::string> names = step_names(*e);
    const std::set<std::string> serial(e->options().serial_steps.begin(), e->options().serial_steps.end());
    for (const auto& s : serial) EXPECT_NE(std::find(names.begin(), names.end(), s), names.end()) << s;
    const auto steps = e->steps();
    for (size_t i = 0; i < steps.size(); ++i)
        if (steps[i].node) {
            EXPECT_EQ(e->plan().step_threads(i), serial.count(steps[i].node->name()) ? 1 : 2) << i;
        }
    if (serial.empty()) {
        EXPECT_EQ(note.rfind("every step on 2 threads", 0), 0u) << note;
    } else if (serial.size() == names.size()) {
        EXPECT_EQ(note.rfind("every step on one thread", 0), 0u) << note;
    } else {
        EXPECT_EQ(note.rfind(std::to_string(serial.size()) + " of ", 0), 0u) << note;
    }

    // `qat explain` marks the same steps.
    auto rep = engine::explain(*e);
    ASSERT_TRUE(rep.ok()) << rep.status().to_string();
    size_t marked = 0;
    for (const auto& row : rep->rows) marked += row.threads == 1;
    EXPECT_EQ(marked, serial.size());
    EXPECT_EQ(engine::explain_to_json(*rep).find("\"threads\"") != std::string::npos, !serial.empty());

    const std::string file = test::temp_engine_file("qat_threads");
    ASSERT_TRUE(engine::save_engine(*e, file, "resnet.onnx").ok());
    auto l = engine::load_engine(file);
    ASSERT_TRUE(l.ok()) << l.status().to_string();
    EXPECT_EQ(l->options().step_threads, StepThreads::kChosen);
    EXPECT_EQ(l->options().serial_steps, e->options().serial_steps);
    EXPECT_NE(l->step_threads_note().find("not timed again"), std::string::npos) << l->step_threads_note();
    for (size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(l->plan().step_threads(i), e->plan().step_threads(i)) << i;
    // `all` when loading overrides the file's choice.
    auto a = engine::load_engine(file, {.step_threads = StepThreads::kAll});
    fs::remove(file);
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    EXPECT_TRUE(a->options().serial_steps.empty());
    for (size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(a->plan().step_threads(i), 2) << i;
}

TEST(StepThreads, DynamicBatchAndOneThreadAreNotTimed) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN is not compiled in: nothing runs on more than one thread";
    auto g = zoo("mobilenet_v2");
    ASSERT_TRUE(g);
    auto one = engine::build_engine(*g, {.threads = 1, .batch = 1});
    ASSERT_TRUE(one.ok()) << one.status().to_string();
    EXPECT_NE(one->step_threads_note().find("one thread asked"), std::string::npos) << one->step_threads_note();
    EXPECT_TRUE(one->options().serial_steps.empty());

    auto d = engine::build_engine(*g, {.threads = 2, .batch = 0});
    ASSERT_TRUE(d.ok()) << d.status().to_string();
    EXPECT_EQ(d->options().step_threads, StepThreads::kAuto);
    EXPECT_NE(d->step_threads_note().find("no static shape"), std::string::npos) << d->step_threads_note();
    // The file keeps `auto`: loaded for a fixed batch, the steps are timed then.
    const std::string file = test::temp_engine_file("qat_threads_dyn");
    ASSERT_TRUE(engine::save_engine(*d, file, "mobilenet.onnx").ok());
    auto l = engine::load_engine(file, {.batch = 1});
    fs::remove(file);
    ASSERT_TRUE(l.ok()) << l.status().to_string();
    EXPECT_EQ(l->options().step_threads, StepThreads::kChosen);
    const std::string& ln = l->step_threads_note();
    EXPECT_TRUE(ln.find("auto, timed") != std::string::npos ||
                ln.find("auto: not timed, one run takes") != std::string::npos)
        << ln;
}

TEST(StepThreads, UnknownStepNamesAreRefused) {
    if (!has_onednn()) GTEST_SKIP() << "oneDNN is not compiled in";
    auto g = zoo("resnet_v1");
    ASSERT_TRUE(g);
    engine::EngineOptions o{.threads = 2, .batch = 1, .step_threads = StepThreads::kChosen};
    o.serial_steps = {"no_such_node"};
    auto bad = engine::build_engine(*g, o);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().to_string().find("'no_such_node'"), std::string::npos) << bad.status().to_string();

    // An engine file whose META names a step the graph lacks (checksum recomputed: the content
    // is what is wrong).
    auto e = engine::build_engine(*g, {.threads = 2, .batch = 1, .step_threads = StepThreads::kAll});
    ASSERT_TRUE(e.ok()) << e.status().to_string();
    auto bytes = engine::serialize_engine(*e, "resnet.onnx");
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    std::string b = *bytes;
    const std::string from = "\"serial_steps\":[],\"step_threads\":\"all\"";
    const std::string to = "\"serial_steps\":[\"zz\"],\"step_threads\":\"chosen\"";
    const size_t at = b.find(from);
    ASSERT_NE(at, std::string::npos);
    b.replace(at, from.size(), to);
    // Section and payload sizes grow with the edit: rebuild the META section length and header.
    ASSERT_GT(to.size(), from.size());
    const uint64_t grow = to.size() - from.size();
    uint64_t meta_size = 0, payload = 0;
    std::memcpy(&meta_size, &b[engine::kEngineHeaderSize + 8], 8);
    meta_size += grow;
    std::memcpy(&b[engine::kEngineHeaderSize + 8], &meta_size, 8);
    std::memcpy(&payload, &b[32], 8);
    payload += grow;
    std::memcpy(&b[32], &payload, 8);
    const uint64_t sum = engine::fnv1a64(b.data() + engine::kEngineHeaderSize, b.size() - engine::kEngineHeaderSize);
    std::memcpy(&b[40], &sum, 8);
    const std::string file = test::temp_engine_file("qat_threads_bad");
    ASSERT_TRUE(write_file_atomic(file, b).ok());
    auto l = engine::load_engine(file);
    fs::remove(file);
    ASSERT_FALSE(l.ok());
    EXPECT_NE(l.status().to_string().find("'zz'"), std::string::npos) << l.status().to_string();
    EXPECT_NE(l.status().to_string().find(file), std::string::npos) << l.status().to_string();
}

}  // namespace
}  // namespace qat
