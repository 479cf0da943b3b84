// The runtime side of the oneDNN backend, tested without oneDNN: layout hand-off between kernels
// (runtime::Layout), conversion to plain for kernels that do not accept a layout, for hooks and
// for graph outputs, re-prepare on a layout change, in-place permission (can_overwrite_input),
// and per-step profiling. A fake backend stores tensors reversed ("rev" layout) so that any
// missed conversion shows up as wrong numbers.
#include <gtest/gtest.h>

#include <algorithm>

#include "runtime/allocator.h"
#include "runtime/plan.h"

namespace qat {
namespace {

class RevLayout : public runtime::Layout {
  public:
    const char* backend() const override { return "fake"; }
    std::string desc() const override { return "fake:rev"; }
    bool equals(const runtime::Layout& o) const override { return dynamic_cast<const RevLayout*>(&o) != nullptr; }
    Result<Tensor> to_plain(const Tensor& src, runtime::Allocator* alloc, int) const override {
        ++conversions;
        Tensor out = alloc ? alloc->allocate(src.dtype(), src.dims()) : Tensor::empty(src.dtype(), src.dims());
        const float* s = src.data<float>();
        for (int64_t i = 0; i < src.numel(); ++i) out.data<float>()[i] = s[src.numel() - 1 - i];
        return out;
    }
    static inline int conversions = 0;
};

struct Log {
    std::vector<std::string> events;
};
Log g_log;

// "Rev": y = x + 1, stored reversed. Accepts rev input (reads it reversed) when `accepts`.
class RevKernel : public runtime::Kernel {
  public:
    explicit RevKernel(bool accepts) : accepts_(accepts) {}
    bool accepts_layout(size_t, const runtime::Layout& l) const override {
        return accepts_ && dynamic_cast<const RevLayout*>(&l) != nullptr;
    }
    Status prepare_with_layouts(const std::vector<const Tensor*>&,
                                const std::vector<const runtime::Layout*>& ls) override {
        g_log.events.push_back(std::string("prepare ") + (ls[0] ? "rev" : "plain"));
        return OkStatus();
    }
    Status run(runtime::KernelContext& ctx) override {
        const Tensor& x = *ctx.input(0);
        bool rev_in = ctx.input_layout(0) != nullptr;
        g_log.events.push_back(std::string("run ") + (rev_in ? "rev" : "plain") +
                               (ctx.can_overwrite_input(0) ? " overwritable" : ""));
        Tensor& y = ctx.allocate_output(0, DataType::kFloat32, x.dims());
        int64_t n = x.numel();
        for (int64_t i = 0; i < n; ++i) {
            float v = rev_in ? x.data<float>()[n - 1 - i] : x.data<float>()[i];  // logical element i
            y.data<float>()[n - 1 - i] = v + 1;                                  // stored reversed
        }
        return ctx.set_output_layout(0, std::make_shared<RevLayout>());
    }

  private:
    bool accepts_;
};

// "Plain": y = 2x on plain tensors only (like any kernel of another backend).
class PlainKernel : public runtime::Kernel {
  public:
    Status run(runtime::KernelContext& ctx) override {
        const Tensor& x = *ctx.input(0);
        if (ctx.input_layout(0)) return internal_error("Plain got a non-plain input");
        Tensor& y = ctx.allocate_output(0, DataType::kFloat32, x.dims());
        for (int64_t i = 0; i < x.numel(); ++i) y.data<float>()[i] = 2 * x.data<float>()[i];
        return OkStatus();
    }
};

// "Threads": y = x, logging the thread count of each prepare and run.
class ThreadsKernel : public runtime::Kernel {
  public:
    Status prepare(const std::vector<const Tensor*>&) override {
        g_log.events.push_back("prepare " + std::to_string(prepare_threads()));
        return OkStatus();
    }
    Status run(runtime::KernelContext& ctx) override {
        g_log.events.push_back("run " + std::to_string(ctx.num_threads()));
        ctx.set_output(0, *ctx.input(0));
        return OkStatus();
    }
};

runtime::KernelRegistry make_registry() {
    runtime::KernelRegistry reg;
    auto add = [&](const std::string& op, std::function<std::unique_ptr<runtime::Kernel>()> make) {
        runtime::KernelCandidate c;
        c.backend = "fake";
        c.create = [make](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> { return make(); };
        reg.add(op, std::move(c), "test");
    };
    add("Rev", [] { return std::make_unique<RevKernel>(true); });
    add("RevNoAccept", [] { return std::make_unique<RevKernel>(false); });
    add("Plain", [] { return std::make_unique<PlainKernel>(); });
    add("Threads", [] { return std::make_unique<ThreadsKernel>(); });
    return reg;
}

std::vector<float> iota(int n) {
    std::vector<float> v(n);
    for (int i = 0; i < n; ++i) v[i] = static_cast<float>(i);
    return v;
}

TEST(RuntimeLayout, HandOffConvertsOnlyAtBoundaries) {
    runtime::KernelRegistry reg = make_registry();
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{Dim::symbolic("N"), 3});
    ir::Node* a = g.add_node("Rev", {x}, {"a"}, "a", "test");               // x + 1 (rev)
    ir::Node* b = g.add_node("Rev", {a->output(0)}, {"b"}, "b", "test");    // x + 2 (rev, read as-is)
    ir::Node* c = g.add_node("Plain", {a->output(0)}, {"c"}, "c", "test");  // 2(x + 1), plain copy
    ir::Node* d = g.add_node("Plain", {a->output(0)}, {"d"}, "d", "test");  // reuses that copy
    g.add_output(b->output(0));
    g.add_output(c->output(0));
    g.add_output(d->output(0));
    g.add_output(a->output(0));
    auto plan = runtime::Plan::compile(g, {.registry = &reg});
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    g_log.events.clear();
    RevLayout::conversions = 0;
    std::vector<std::vector<float>> hooked;
    auto out = (*plan)->run(std::vector<Tensor>{Tensor::from_vector<float>({2, 3}, iota(6))},
                            [&](const ir::Node& n, const std::vector<Tensor>& outs) {
                                if (n.name() == "a") hooked.push_back(outs[0].to_vector<float>());
                                return OkStatus();
                            });
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    EXPECT_EQ((*out)[0].to_vector<float>(), (std::vector<float>{2, 3, 4, 5, 6, 7}));
    EXPECT_EQ((*out)[1].to_vector<float>(), (std::vector<float>{2, 4, 6, 8, 10, 12}));
    EXPECT_EQ((*out)[2].to_vector<float>(), (std::vector<float>{2, 4, 6, 8, 10, 12}));
    EXPECT_EQ((*out)[3].to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
    ASSERT_EQ(hooked.size(), 1u);
    EXPECT_EQ(hooked[0], (std::vector<float>{1, 2, 3, 4, 5, 6}));  // hooks see plain tensors
    // a is converted once (shared by c, d, the hook and the graph output), b once for the output.
    EXPECT_EQ(RevLayout::conversions, 2);
    EXPECT_EQ(g_log.events[2], "prepare rev");  // b was prepared for its input's layout
}

TEST(RuntimeLayout, NonAcceptingKernelOfSameBackendGetsPlain) {
    runtime::KernelRegistry reg = make_registry();
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{4});
    ir::Node* a = g.add_node("Rev", {x}, {"a"}, "a", "test");
    ir::Node* b = g.add_node("RevNoAccept", {a->output(0)}, {"b"}, "b", "test");
    g.add_output(b->output(0));
    auto plan = runtime::Plan::compile(g, {.registry = &reg});
    ASSERT_TRUE(plan.ok());
    g_log.events.clear();
    auto out = (*plan)->run(std::vector<Tensor>{Tensor::from_vector<float>({4}, iota(4))});
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    EXPECT_EQ((*out)[0].to_vector<float>(), (std::vector<float>{2, 3, 4, 5}));
    // b reads a converted copy (never offered for overwriting: it is not the slot's tensor).
    EXPECT_EQ(g_log.events.back(), "run plain");
}

TEST(RuntimeLayout, OverwritePermission) {
    runtime::KernelRegistry reg = make_registry();
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{4});
    ir::Node* a = g.add_node("Rev", {x}, {"a"}, "a", "test");             // graph input: never overwritable
    ir::Node* b = g.add_node("Rev", {a->output(0)}, {"b"}, "b", "test");  // a read later by d: no
    ir::Node* c = g.add_node("Rev", {b->output(0)}, {"c"}, "c", "test");  // last reader of b: yes
    ir::Node* d = g.add_node("Rev", {a->output(0)}, {"d"}, "d", "test");  // last reader of a: yes
    ir::Node* e = g.add_node("Rev", {c->output(0)}, {"e"}, "e", "test");  // c is a graph output: no
    g.add_output(c->output(0));
    g.add_output(d->output(0));
    g.add_output(e->output(0));
    auto plan = runtime::Plan::compile(g, {.registry = &reg});
    ASSERT_TRUE(plan.ok());
    for (int run = 0; run < 2; ++run) {
        g_log.events.clear();
        auto out = (*plan)->run(std::vector<Tensor>{Tensor::from_vector<float>({4}, iota(4))});
        ASSERT_TRUE(out.ok()) << out.status().to_string();
        std::vector<std::string> runs;
        for (const auto& ev : g_log.events)
            if (ev.rfind("run", 0) == 0) runs.push_back(ev);
        ASSERT_EQ(runs.size(), 5u);
        EXPECT_EQ(runs[0], "run plain");
        EXPECT_EQ(runs[1], "run rev");
        EXPECT_EQ(runs[2], "run rev overwritable");
        EXPECT_EQ(runs[3], "run rev overwritable");
        EXPECT_EQ(runs[4], "run rev");
        EXPECT_EQ((*out)[2].to_vector<float>(), (std::vector<float>{4, 5, 6, 7}));
    }
}

TEST(RuntimeLayout, ProfileCountsRunsAndLayouts) {
    runtime::KernelRegistry reg = make_registry();
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{4});
    ir::Node* a = g.add_node("Rev", {x}, {"a"}, "a", "test");
    ir::Node* b = g.add_node("Plain", {a->output(0)}, {"b"}, "b", "test");
    g.add_output(b->output(0));
    auto plan = runtime::Plan::compile(g, {.registry = &reg});
    ASSERT_TRUE(plan.ok());
    (*plan)->set_profiling(true);
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE((*plan)->run(std::vector<Tensor>{Tensor::from_vector<float>({4}, iota(4))}).ok());
    auto prof = (*plan)->profile();
    ASSERT_EQ(prof.size(), 2u);
    EXPECT_EQ(prof[0].runs, 3);
    EXPECT_EQ(prof[0].out_layout, "fake:rev");
    EXPECT_EQ(prof[1].out_layout, "");
    EXPECT_GT(prof[1].convert_ms, 0.0);
    EXPECT_GE(prof[1].total_ms, prof[1].convert_ms);
    EXPECT_EQ(prof[1].out_dims, (std::vector<std::vector<int64_t>>{{4}}));
    (*plan)->reset_profile();
    EXPECT_EQ((*plan)->profile()[0].runs, 0);
}

TEST(RuntimeLayout, AllocatorReusesPaddedBlocks) {
    runtime::Allocator alloc;
    Tensor a = alloc.allocate_bytes(DataType::kFloat32, {3}, 1024);
    EXPECT_TRUE(alloc.is_pooled(a));
    void* p = a.raw_data();
    a = Tensor();
    Tensor b = alloc.allocate_bytes(DataType::kFloat32, {5}, 1000);
    EXPECT_EQ(b.raw_data(), p);  // the free 1024-byte block fits
    EXPECT_FALSE(alloc.is_pooled(Tensor::zeros(DataType::kFloat32, {2})));
}

TEST(RuntimeThreads, StepThreadsReachPrepareAndRun) {
    runtime::KernelRegistry reg = make_registry();
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape{4});
    ir::Node* a = g.add_node("Threads", {x}, {"a"}, "a", "test");
    ir::Node* b = g.add_node("Threads", {a->output(0)}, {"b"}, "b", "test");
    g.add_output(b->output(0));
    auto plan = runtime::Plan::compile(g, {.registry = &reg, .num_threads = 3});
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    runtime::Plan& p = **plan;
    const std::vector<Tensor> in{Tensor::from_vector<float>({4}, iota(4))};
    auto run = [&] {
        g_log.events.clear();
        auto out = p.run(in);
        EXPECT_TRUE(out.ok()) << out.status().to_string();
        return g_log.events;
    };
    using V = std::vector<std::string>;
    EXPECT_EQ(run(), (V{"prepare 3", "run 3", "prepare 3", "run 3"}));
    EXPECT_EQ(run(), (V{"run 3", "run 3"}));  // prepared once
    // Step 1 on one thread: it alone re-prepares, for 1, and runs on 1.
    ASSERT_TRUE(p.set_step_threads(1, 1).ok());
    EXPECT_EQ(p.step_threads(0), 3);
    EXPECT_EQ(p.step_threads(1), 1);
    EXPECT_EQ(p.steps()[1].threads, 1);
    EXPECT_EQ(run(), (V{"run 3", "prepare 1", "run 1"}));
    EXPECT_EQ(run(), (V{"run 3", "run 1"}));
    // Back to the plan's count; a new plan count reaches every step without its own.
    ASSERT_TRUE(p.set_step_threads(1, 0).ok());
    EXPECT_EQ(run(), (V{"run 3", "prepare 3", "run 3"}));
    ASSERT_TRUE(p.set_step_threads(0, 1).ok());
    p.set_num_threads(2);
    EXPECT_EQ(run(), (V{"prepare 1", "run 1", "prepare 2", "run 2"}));
    // Bad requests name the step.
    Status past = p.set_step_threads(2, 1);
    EXPECT_FALSE(past.ok());
    EXPECT_NE(past.message().find("past the plan's 2 steps"), std::string::npos) << past.message();
    Status neg = p.set_step_threads(1, -1);
    EXPECT_FALSE(neg.ok());
    EXPECT_NE(neg.message().find("'b'"), std::string::npos) << neg.message();
}

}  // namespace
}  // namespace qat
