// The OpenMP runtime the engine's executables run on (docs/ENGINE.md, "Threads and the OpenMP
// runtime"): where the build links LLVM's libomp (QAT_LIBOMP_LINKED), every OpenMP call of the
// process, oneDNN's included, must reach it rather than GNU's libgomp, and the engine shortens its
// spin after a parallel region to 1 ms unless KMP_BLOCKTIME says otherwise.
#include <dlfcn.h>
#include <omp.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "onednn_test_util.h"

extern "C" int kmp_get_blocktime() __attribute__((weak));

namespace qat::onednn_test {
namespace {

// The file that defines the symbol the process binds `name` to.
std::string defining_file(const char* name) {
    void* sym = dlsym(RTLD_DEFAULT, name);
    Dl_info info{};
    if (!sym || !dladdr(sym, &info) || !info.dli_fname) return "(not found)";
    return info.dli_fname;
}

// A one-node graph on oneDNN: its run sets the thread count (and the blocktime) on this thread.
void run_relu_on_onednn(int threads) {
    ir::Graph g;
    ir::Value* x = g.add_input("x", DataType::kFloat32, Shape::from_dims({1, 16, 8, 8}));
    g.add_output(g.add_node("Relu", {x}, {"y"}, "relu")->output(0));
    check_against_ref(g, {rand_f32({1, 16, 8, 8}, 3)}, {.threads = threads});
}

#ifdef QAT_LIBOMP_LINKED

TEST(OnednnOpenmp, EveryOpenmpCallReachesLibomp) {
    QAT_REQUIRE_ONEDNN();
    // oneDNN calls these; GOMP_parallel is what `#pragma omp parallel` compiles to under GCC.
    for (const char* name : {"GOMP_parallel", "GOMP_barrier", "omp_get_max_threads", "omp_set_num_threads"})
        EXPECT_NE(defining_file(name).find("libomp"), std::string::npos)
            << name << " is bound to " << defining_file(name) << ", not LLVM's libomp (link order?)";
    ASSERT_NE(kmp_get_blocktime, nullptr) << "kmp_get_blocktime is not in the process: libomp not loaded";
}

TEST(OnednnOpenmp, EngineThreadsSpinOneMillisecond) {
    QAT_REQUIRE_ONEDNN();
    if (std::getenv("KMP_BLOCKTIME"))
        GTEST_SKIP() << "KMP_BLOCKTIME is set in this environment: the engine leaves the user's value";
    ASSERT_NE(kmp_get_blocktime, nullptr);
    // A thread of its own: the setting belongs to the thread that runs the plan (its team). Three
    // threads, more than CI's cores: the count is then not the default, and libomp, oversubscribed,
    // would drop the spin to 0 had the engine not set it.
    int before = -1, after = -1, max_threads = 0;
    std::thread t([&] {
        before = kmp_get_blocktime();
        run_relu_on_onednn(3);
        after = kmp_get_blocktime();
        max_threads = omp_get_max_threads();
    });
    t.join();
    EXPECT_EQ(before, 200) << "libomp's documented default";
    EXPECT_EQ(after, 1);
    EXPECT_EQ(max_threads, 3) << "the plan's thread count reached libomp";
}

#else

TEST(OnednnOpenmp, EveryOpenmpCallReachesLibomp) {
    GTEST_SKIP() << "this build runs on GNU OpenMP (QAT_OPENMP_RUNTIME=gnu, or libomp-dev not installed)";
}

#endif

}  // namespace
}  // namespace qat::onednn_test
