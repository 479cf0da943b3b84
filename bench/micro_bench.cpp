// Micro benchmarks (Google Benchmark) of what the INT8 engine stands on, run on this machine's
// cores: the AVX-512 VNNI peak, and oneDNN int8 vs f32 convolutions on ResNet-50 layer shapes
// (the same primitive configuration the oneDNN backend builds: format_tag::any, u8 source after
// ReLU, per-channel output scales, fused ReLU). Counters: GOPS (2 ops per multiply-add) and, for
// the convolutions, percent of the measured VNNI peak.
//
//   build-onednn/bench/qat_micro_bench --benchmark_filter=Peak
//   build-onednn/bench/qat_micro_bench --threads=2   (default: 2)
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdio>
#include <cstring>
#include <dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "int8_peak.h"

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

int g_threads = 2;
double g_peak = 0;

struct ConvShape {
    const char* name;
    int n, c, h, k, r, stride;
};

// ResNet-50 v1 convolution shapes (one of each kind, batch given by the benchmark argument).
const ConvShape kShapes[] = {
    {"conv1_7x7s2", 1, 3, 224, 64, 7, 2},      {"res2_1x1_64", 1, 64, 56, 64, 1, 1},
    {"res2_3x3_64", 1, 64, 56, 64, 3, 1},      {"res2_1x1_256", 1, 64, 56, 256, 1, 1},
    {"res3_3x3s2_128", 1, 128, 56, 128, 3, 2}, {"res3_3x3_128", 1, 128, 28, 128, 3, 1},
    {"res4_1x1_1024", 1, 256, 14, 1024, 1, 1}, {"res4_3x3_256", 1, 256, 14, 256, 3, 1},
    {"res5_3x3_512", 1, 512, 7, 512, 3, 1},    {"res5_1x1_2048", 1, 512, 7, 2048, 1, 1},
};

void BM_VnniPeak(benchmark::State& st) {
    if (!qat::bench::has_vnni()) {
        st.SkipWithError("this CPU has no AVX-512 VNNI");
        return;
    }
    const int64_t reps = 1 << 20;
    double ops = 0;
    for (auto _ : st) {
        int32_t acc = 0;
#pragma omp parallel num_threads(g_threads) reduction(+ : acc)
        acc += qat::bench::vnni_kernel(reps, omp_get_thread_num() + 1);
        benchmark::DoNotOptimize(acc);
        ops += qat::bench::kOpsPerRep * static_cast<double>(reps) * g_threads;
    }
    st.counters["GOPS"] = benchmark::Counter(ops / 1e9, benchmark::Counter::kIsRate);
}

// residual: 0 none; 1 oneDNN's sum post-op (dst += conv, the engine's in-place residual); 2 a
// binary add post-op reading the residual from its own buffer.
void BM_Conv(benchmark::State& st, ConvShape s, bool int8, int residual = 0) {
    omp_set_num_threads(g_threads);
    s.n = static_cast<int>(st.range(0));
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream strm(eng);
    int pad = s.r / 2;
    int oh = (s.h + 2 * pad - s.r) / s.stride + 1;
    dnnl::memory::dims src{s.n, s.c, s.h, s.h}, wei{s.k, s.c, s.r, s.r}, dst{s.n, s.k, oh, oh};
    auto d = dnnl::convolution_forward::desc(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
        dnnl::memory::desc(src, int8 ? dt::u8 : dt::f32, tag::any),
        dnnl::memory::desc(wei, int8 ? dt::s8 : dt::f32, tag::any), dnnl::memory::desc({s.k}, dt::f32, tag::x),
        dnnl::memory::desc(dst, int8 ? dt::u8 : dt::f32, tag::any), {s.stride, s.stride}, {pad, pad}, {pad, pad});
    dnnl::primitive_attr attr;
    if (int8) attr.set_output_scales(1 << 1, std::vector<float>(s.k, 0.01f));
    dnnl::post_ops po;
    dnnl::memory::desc res_md(dst, int8 ? dt::u8 : dt::f32, tag::acdb);
    if (residual == 1) po.append_sum(1.0f);
    if (residual == 2) po.append_binary(dnnl::algorithm::binary_add, res_md);
    po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0, 0);
    attr.set_post_ops(po);
    dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
    dnnl::memory sm(pd.src_desc(), eng), wm(pd.weights_desc(), eng), bm(pd.bias_desc(), eng), dm(pd.dst_desc(), eng);
    std::memset(sm.get_data_handle(), 1, pd.src_desc().get_size());
    std::memset(wm.get_data_handle(), 1, pd.weights_desc().get_size());
    std::memset(bm.get_data_handle(), 0, pd.bias_desc().get_size());
    std::memset(dm.get_data_handle(), 0, pd.dst_desc().get_size());
    dnnl::convolution_forward conv(pd);
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, dm}};
    dnnl::memory rm;
    if (residual == 2) {
        rm = dnnl::memory(res_md, eng);
        std::memset(rm.get_data_handle(), 1, res_md.get_size());
        args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] = rm;
    }
    for (int i = 0; i < 3; ++i) conv.execute(strm, args);
    strm.wait();
    double ops_per = 2.0 * s.n * s.k * oh * oh * static_cast<double>(s.c) * s.r * s.r;
    double ops = 0;
    for (auto _ : st) {
        conv.execute(strm, args);
        strm.wait();
        ops += ops_per;
    }
    st.counters["GOPS"] = benchmark::Counter(ops / 1e9, benchmark::Counter::kIsRate);
    if (int8 && g_peak > 0)
        st.counters["peak%"] = benchmark::Counter(ops / 1e9 / g_peak * 100.0, benchmark::Counter::kIsRate);
    st.SetLabel(pd.impl_info_str());
}

}  // namespace

int main(int argc, char** argv) {
    // --threads=N (ours) before Google Benchmark sees the arguments.
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) {
        if (std::strncmp(argv[i], "--threads=", 10) == 0) {
            g_threads = std::max(1, std::atoi(argv[i] + 10));
            continue;
        }
        args.push_back(argv[i]);
    }
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    g_peak = qat::bench::vnni_peak_gops(g_threads, 0.5);
    std::printf("threads %d, VNNI loop peak %.0f GOPS\n", g_threads, g_peak);
    benchmark::RegisterBenchmark("VnniPeak", BM_VnniPeak)->UseRealTime();
    for (const auto& s : kShapes)
        for (bool int8 : {true, false}) {
            std::string name = std::string(int8 ? "ConvInt8/" : "ConvF32/") + s.name;
            benchmark::RegisterBenchmark(name.c_str(), [s, int8](benchmark::State& st) { BM_Conv(st, s, int8); })
                ->Arg(1)
                ->Arg(16)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
        }
    // The residual 1x1 convolutions (the last of each bottleneck), int8: sum vs binary post-op.
    for (const auto& s : {kShapes[3], kShapes[6], kShapes[9]})
        for (int r : {1, 2}) {
            std::string name = std::string("ConvInt8Residual/") + (r == 1 ? "sum/" : "binary/") + s.name;
            benchmark::RegisterBenchmark(name.c_str(), [s, r](benchmark::State& st) { BM_Conv(st, s, true, r); })
                ->Arg(1)
                ->Arg(16)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond);
        }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
