// Chains of bare oneDNN INT8 convolutions at batch 1 (no engine), for the questions of issue 6
// that per-layer numbers cannot answer (docs/BENCHMARKS.md, 2026-11-27 09:10 UTC section):
//
//   mobilenet   MobileNetV2's 52 convolutions back to back: the time our engine could reach with
//               oneDNN's kernels and no cost of its own.
//   rowsplit    ResNet-50's bottleneck stages, each convolution either one 2-thread primitive
//               (oneDNN splits the work as it likes) or two 1-thread primitives over the top and
//               bottom rows run in one parallel region of ours, so that each core keeps the same
//               rows from step to step (does cross-core cache traffic slow the 2-thread runs?).
//   fuse H CIN CMID COUT STRIDE ROWS
//               one inverted-residual block (1x1 expand, 3x3 depthwise, 1x1 project), as three
//               2-thread primitives or fused: each thread walks its half of the output rows in
//               strips of ROWS, expanding only the rows its depthwise needs into a small buffer,
//               with 1-thread primitives (no fork / join inside the block).
//   dw H C [1|2] [swish] [k5]
//               a 3x3 (k5: 5x5) depthwise convolution of stride 1 or 2 (H x H x C input, u8,
//               ReLU6; with `swish`: s8 out, swish): oneDNN's primitive against our kernel
//               (src/backends/onednn/depthwise_int8.h), 1 and 2 threads.
//
//   pw H K M [res|swish]
//               a 1x1 convolution (H x H x K -> M, u8, ReLU6; with `res`: s8, an in-place residual
//               sum, ReLU): oneDNN's primitive against our kernel's requantizing path
//               (src/backends/onednn/pointwise_int8.h), 1 and 2 threads.
//
//   build/bin/qat_chain_experiments mobilenet
//   build/bin/qat_chain_experiments rowsplit
//   build/bin/qat_chain_experiments fuse 56 24 144 24 1 4
//   build/bin/qat_chain_experiments dw 56 144
//   build/bin/qat_chain_experiments pw 112 16 96
//
// Weights and activations are constants: these measure time, not numbers (rowsplit checks that
// its two forms give the same bytes).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "backends/onednn/depthwise_int8.h"
#include "backends/onednn/pointwise_int8.h"

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;
using md_t = dnnl::memory::desc;

const dnnl::engine& eng() {
    static dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
}

// A 2-D convolution over rows [r0, r1) of its output: the input rows it needs, with the padding
// the slice takes at the image's edges (what a row split asks of each part).
struct ConvSpec {
    int ic, oc, group, k, stride, hin, win;
    dt src_t = dt::u8, dst_t = dt::u8;
    bool sum = false;    // residual: in-place sum post-op
    bool swish = false;  // swish post-op (instead of the u8 output's ReLU)
    int pad() const { return k / 2; }
    int hout() const { return (hin + 2 * pad() - k) / stride + 1; }
    int wout() const { return (win + 2 * pad() - k) / stride + 1; }
};

struct Prim {
    dnnl::convolution_forward prim;
    dnnl::memory weights, src, dst;
    size_t src_offset = 0, dst_offset = 0;  // bytes into the whole tensors (channels-last)
};

// The primitive for output rows [r0, r1), built for `threads` threads (oneDNN fixes its split
// when the primitive is made).
Prim make_prim(const ConvSpec& c, int r0, int r1, int threads) {
    omp_set_num_threads(threads);
    const int lo_virtual = r0 * c.stride - c.pad(), hi_virtual = (r1 - 1) * c.stride - c.pad() + c.k;
    const int lo = std::max(0, lo_virtual), hi = std::min(c.hin, hi_virtual);
    const int pad_top = lo - lo_virtual, pad_bottom = hi_virtual - hi;
    md_t src({1, c.ic, hi - lo, c.win}, c.src_t, tag::nhwc);
    md_t dst({1, c.oc, r1 - r0, c.wout()}, c.dst_t, tag::nhwc);
    dnnl::memory::dims wd = c.group > 1 ? dnnl::memory::dims{c.group, c.oc / c.group, c.ic / c.group, c.k, c.k}
                                        : dnnl::memory::dims{c.oc, c.ic, c.k, c.k};
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
                                      md_t(wd, dt::s8, tag::any), dst, {c.stride, c.stride}, {pad_top, c.pad()},
                                      {pad_bottom, c.pad()});
    dnnl::primitive_attr attr;
    attr.set_output_scales(2, std::vector<float>(c.oc, 1.0f / static_cast<float>(c.ic / c.group * c.k * c.k * 16)));
    dnnl::post_ops po;
    if (c.sum) po.append_sum(1.0f);
    if (c.swish)
        po.append_eltwise(1.0f, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);
    else if (c.dst_t == dt::u8)
        po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(po);
    dnnl::convolution_forward::primitive_desc pd(d, attr, eng());
    Prim p{dnnl::convolution_forward(pd),          dnnl::memory(pd.weights_desc(), eng()),
           dnnl::memory(src, eng(), nullptr),      dnnl::memory(dst, eng(), nullptr),
           static_cast<size_t>(lo) * c.win * c.ic, static_cast<size_t>(r0) * c.wout() * c.oc};
    std::memset(p.weights.get_data_handle(), 1, pd.weights_desc().get_size());
    return p;
}

void exec(Prim& p, dnnl::stream& s, const uint8_t* in, uint8_t* out) {
    p.src.set_data_handle(const_cast<uint8_t*>(in) + p.src_offset);
    p.dst.set_data_handle(out + p.dst_offset);
    p.prim.execute(s, {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_WEIGHTS, p.weights}, {DNNL_ARG_DST, p.dst}});
}

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }
double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// Two forms timed in alternation, `runs` each: their medians.
template <typename A, typename B>
std::pair<double, double> alternate(int runs, A a, B b) {
    std::vector<double> ta, tb;
    for (int i = 0; i < runs; ++i) {
        auto t0 = Clock::now();
        a();
        ta.push_back(ms_since(t0));
        t0 = Clock::now();
        b();
        tb.push_back(ms_since(t0));
    }
    return {median(ta), median(tb)};
}

int mobilenet() {
    // MobileNetV2 at 224x224: stem, 17 inverted-residual blocks (t, c, n, s), head 1x1.
    std::vector<ConvSpec> convs;
    int hw = 224, c = 3;
    auto add = [&](int oc, int group, int k, int stride, bool relu, bool sum) {
        ConvSpec s{c, oc, group, k, stride, hw, hw};
        s.src_t = convs.empty() ? dt::s8 : dt::u8;  // every later input timed as u8
        s.dst_t = relu ? dt::u8 : dt::s8;
        s.sum = sum;
        convs.push_back(s);
        hw = s.hout();
        c = oc;
    };
    add(32, 1, 3, 2, true, false);
    const int blocks[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                              {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    for (const auto& b : blocks)
        for (int i = 0; i < b[2]; ++i) {
            const int stride = i == 0 ? b[3] : 1, mid = c * b[0];
            const bool residual = stride == 1 && c == b[1];
            if (b[0] != 1) add(mid, 1, 1, 1, true, false);
            add(mid, mid, 3, stride, true, false);
            add(b[1], 1, 1, 1, false, residual);
        }
    add(1280, 1, 1, 1, true, false);
    // Three buffers in rotation (a residual block's output lands back in its input's buffer).
    size_t most = 0;
    double macs = 0;
    for (const auto& s : convs) {
        most = std::max(most, static_cast<size_t>(s.hin) * s.win * std::max(s.ic, s.oc));
        macs += static_cast<double>(s.hout()) * s.wout() * s.oc * (s.ic / s.group) * s.k * s.k;
    }
    std::vector<std::vector<uint8_t>> bufs(3, std::vector<uint8_t>(most, 1));
    std::vector<Prim> prims;
    std::vector<std::pair<int, int>> io;
    int cur = 0, block_in = 0;
    for (const auto& s : convs) {
        prims.push_back(make_prim(s, 0, s.hout(), 2));
        int out = s.sum ? block_in : (cur + 1) % 3;
        if (out == cur) out = (cur + 2) % 3;
        io.emplace_back(cur, out);
        if (s.group == 1 && s.k == 1 && s.dst_t == dt::s8) block_in = out;  // a block's output
        cur = out;
    }
    omp_set_num_threads(2);
    dnnl::stream st(eng());
    std::vector<double> t;
    for (int i = 0; i < 300; ++i) {
        auto t0 = Clock::now();
        for (size_t j = 0; j < prims.size(); ++j)
            exec(prims[j], st, bufs[io[j].first].data(), bufs[io[j].second].data());
        t.push_back(ms_since(t0));
    }
    std::printf(
        "MobileNetV2 INT8 batch 1, %zu convolutions, %.0f M multiply-adds, 2 threads: median %.3f ms (%.0f GOPS)\n",
        prims.size(), macs / 1e6, median(t), 2 * macs / median(t) / 1e6);
    return 0;
}

int rowsplit() {
    struct Stage {
        const char* name;
        int hw, cin, cmid, blocks;
    };
    const Stage stages[] = {
        {"56x56", 56, 256, 64, 3}, {"28x28", 28, 512, 128, 4}, {"14x14", 14, 1024, 256, 6}, {"7x7", 7, 2048, 512, 3}};
    double total_a = 0, total_b = 0, total_ops = 0;
    for (const auto& sg : stages) {
        ConvSpec cs[3] = {{sg.cin, sg.cmid, 1, 1, 1, sg.hw, sg.hw},
                          {sg.cmid, sg.cmid, 1, 3, 1, sg.hw, sg.hw},
                          {sg.cmid, sg.cin, 1, 1, 1, sg.hw, sg.hw}};
        cs[2].sum = true;
        const size_t xs = static_cast<size_t>(sg.hw) * sg.hw * sg.cin,
                     ts = static_cast<size_t>(sg.hw) * sg.hw * sg.cmid;
        std::vector<uint8_t> xa(xs), xb, t1(ts, 1), t2(ts, 1);
        for (size_t i = 0; i < xs; ++i) xa[i] = static_cast<uint8_t>(i * 2654435761u >> 24);
        xb = xa;
        const int half = (sg.hw + 1) / 2;
        std::vector<Prim> whole, split[2];
        for (const auto& c : cs) {
            whole.push_back(make_prim(c, 0, c.hout(), 2));
            split[0].push_back(make_prim(c, 0, half, 1));
            split[1].push_back(make_prim(c, half, c.hout(), 1));
        }
        omp_set_num_threads(2);
        dnnl::stream sa(eng()), sb[2] = {dnnl::stream(eng()), dnnl::stream(eng())};
        auto io = [&](int i, uint8_t* x) {
            return std::pair<const uint8_t*, uint8_t*>{i == 0   ? x
                                                       : i == 1 ? t1.data()
                                                                : t2.data(),
                                                       i == 0   ? t1.data()
                                                       : i == 1 ? t2.data()
                                                                : x};
        };
        auto run_whole = [&] {
            for (int b = 0; b < sg.blocks; ++b)
                for (int i = 0; i < 3; ++i) exec(whole[i], sa, io(i, xa.data()).first, io(i, xa.data()).second);
        };
        auto run_split = [&] {
            for (int b = 0; b < sg.blocks; ++b)
                for (int i = 0; i < 3; ++i) {
#pragma omp parallel num_threads(2)
                    {
                        const int t = omp_get_thread_num();
                        exec(split[t][i], sb[t], io(i, xb.data()).first, io(i, xb.data()).second);
                    }
                }
        };
        run_whole();
        run_split();
        const bool same = xa == xb;
        double ops = 0;
        for (const auto& c : cs) ops += 2.0 * c.hout() * c.wout() * c.oc * c.ic * c.k * c.k;
        ops *= sg.blocks;
        auto [a, b] = alternate(40, run_whole, run_split);
        total_a += a;
        total_b += b;
        total_ops += ops;
        std::printf(
            "%-6s %s  one 2-thread primitive %.3f ms (%.0f GOPS)  two 1-thread row halves %.3f ms (%.0f GOPS)  "
            "ratio %.2f\n",
            sg.name, same ? "same bytes" : "BYTES DIFFER", a, ops / a / 1e6, b, ops / b / 1e6, a / b);
    }
    std::printf(
        "all    one 2-thread primitive %.3f ms (%.0f GOPS)  two 1-thread row halves %.3f ms (%.0f GOPS)  ratio %.2f\n",
        total_a, total_ops / total_a / 1e6, total_b, total_ops / total_b / 1e6, total_a / total_b);
    return 0;
}

int fuse(int h, int cin, int cmid, int cout, int stride, int strip) {
    const ConvSpec expand{cin, cmid, 1, 1, 1, h, h, dt::s8, dt::u8};
    const ConvSpec dw{cmid, cmid, cmid, 3, stride, h, h, dt::u8, dt::u8};
    const int ho = dw.hout(), wo = dw.wout();
    ConvSpec project{cmid, cout, 1, 1, 1, ho, wo, dt::u8, dt::s8};
    project.sum = stride == 1 && cin == cout;
    std::vector<uint8_t> x(static_cast<size_t>(h) * h * cin, 1), e(static_cast<size_t>(h) * h * cmid, 1),
        d(static_cast<size_t>(ho) * wo * cmid, 1), y(static_cast<size_t>(ho) * wo * cout, 1);
    Prim a1 = make_prim(expand, 0, h, 2), a2 = make_prim(dw, 0, ho, 2), a3 = make_prim(project, 0, ho, 2);
    // Strips of output rows per thread, and a primitive per distinct strip shape.
    struct Strip {
        int o0, o1, in_lo, in_hi;
    };
    std::vector<Strip> strips[2];
    std::map<std::tuple<int, int, int>, Prim> prims;  // (layer, first output row, rows)
    const int half = (ho + 1) / 2;
    for (int t = 0; t < 2; ++t)
        for (int o0 = t == 0 ? 0 : half; o0 < (t == 0 ? half : ho); o0 += strip) {
            const int o1 = std::min(t == 0 ? half : ho, o0 + strip);
            const int lo = std::max(0, o0 * stride - 1), hi = std::min(h, (o1 - 1) * stride + 2);
            strips[t].push_back({o0, o1, lo, hi});
            // Per thread, the expanded rows [lo, hi) go to a strip buffer of their own and the
            // depthwise's output rows to another, both small enough to stay in the core's cache:
            // the strip primitives read and write those buffers from their start.
            ConvSpec ex = expand;
            ex.hin = hi - lo;
            auto [pe, new_e] = prims.try_emplace({1, lo, hi - lo}, make_prim(ex, 0, hi - lo, 1));
            if (new_e) pe->second.src_offset = static_cast<size_t>(lo) * h * cin;
            auto [pd, new_d] = prims.try_emplace({2, o0, o1 - o0}, make_prim(dw, o0, o1, 1));
            if (new_d) pd->second.src_offset = pd->second.dst_offset = 0;
            auto [pp, new_p] = prims.try_emplace({3, o0, o1 - o0}, make_prim(project, o0, o1, 1));
            if (new_p) pp->second.src_offset = 0;
        }
    std::vector<uint8_t> e_strip[2], d_strip[2];
    for (int t = 0; t < 2; ++t) {
        e_strip[t].resize(static_cast<size_t>(strip * stride + 2) * h * cmid);
        d_strip[t].resize(static_cast<size_t>(strip) * wo * cmid);
    }
    omp_set_num_threads(2);
    dnnl::stream sa(eng()), sb[2] = {dnnl::stream(eng()), dnnl::stream(eng())};
    auto run_whole = [&] {
        exec(a1, sa, x.data(), e.data());
        exec(a2, sa, e.data(), d.data());
        exec(a3, sa, d.data(), y.data());
    };
    auto run_fused = [&] {
#pragma omp parallel num_threads(2)
        {
            const int t = omp_get_thread_num();
            for (const auto& s : strips[t]) {
                exec(prims.at({1, s.in_lo, s.in_hi - s.in_lo}), sb[t], x.data(), e_strip[t].data());
                exec(prims.at({2, s.o0, s.o1 - s.o0}), sb[t], e_strip[t].data(), d_strip[t].data());
                exec(prims.at({3, s.o0, s.o1 - s.o0}), sb[t], d_strip[t].data(), y.data());
            }
        }
    };
    auto [a, b] = alternate(600, run_whole, run_fused);
    std::printf(
        "block %dx%d %d-%d-%d stride %d, strips of %d rows: three 2-thread primitives %.1f us, fused %.1f us, "
        "ratio %.2f (%zu primitives)\n",
        h, h, cin, cmid, cout, stride, strip, a * 1e3, b * 1e3, a / b, prims.size());
    return 0;
}

// Constant test data for our kernels (timing only): activations in 0..127, weights in -127..127.
std::vector<uint8_t> activations(size_t n) {
    std::vector<uint8_t> x(n);
    for (size_t i = 0; i < n; ++i) x[i] = static_cast<uint8_t>((i * 2654435761u >> 24) & 127);
    return x;
}
std::vector<int8_t> weights(size_t n) {
    std::vector<int8_t> w(n);
    for (size_t i = 0; i < n; ++i) w[i] = static_cast<int8_t>(static_cast<int>(i * 40503u % 255) - 127);
    return w;
}
// A quantized convolution with ReLU6 after, per-channel weight scales.
qat::ir::fused::FusedOpInfo relu6_info(int64_t channels, qat::DataType out) {
    qat::ir::fused::FusedOpInfo info;
    info.x_scale = 0.02f;
    info.w_scales.assign(static_cast<size_t>(channels), 0.01f);
    info.y_scale = 0.05f;
    info.out_dtype = out;
    info.post_ops = {qat::ir::fused::PostOp::kClip};
    info.clip_min = 0;
    info.clip_max = 6;
    return info;
}

// oneDNN's primitive for `s` (all output rows) against ours(threads), on 1 and 2 threads, 300
// alternating runs each: one line per thread count, "<label>, N thread(s): oneDNN .. us, ours ..
// us, ratio ..".
template <class Ours>
void against_onednn(const ConvSpec& s, int out_rows, const uint8_t* x, uint8_t* y_dnnl, const std::string& label,
                    Ours ours) {
    for (int threads : {1, 2}) {
        Prim p = make_prim(s, 0, out_rows, threads);
        omp_set_num_threads(threads);
        dnnl::stream st(eng());
        auto [a, b] = alternate(
            300, [&] { exec(p, st, x, y_dnnl); }, [&] { ours(threads); });
        std::printf("%s, %d thread%s: oneDNN %.1f us, ours %.1f us, ratio %.2f\n", label.c_str(), threads,
                    threads == 1 ? "" : "s", a * 1e3, b * 1e3, a / b);
    }
}

int depthwise(int h, int c, int stride, bool swish, int kernel) {
    const int ho = (h - 1) / stride + 1;  // padding kernel / 2
    std::vector<uint8_t> x = activations(static_cast<size_t>(h) * h * c), y(static_cast<size_t>(ho) * ho * c),
                         y_dnnl(y.size());
    const std::vector<int8_t> w = weights(static_cast<size_t>(c) * kernel * kernel);
    qat::ir::fused::FusedOpInfo info = relu6_info(c, qat::DataType::kInt8);
    if (swish) info.post_ops = {qat::ir::fused::PostOp::kSwish};
    if (!qat::onednn::depthwise_int8_fits(info, c)) {
        std::fprintf(stderr, "qat_chain_experiments: dw: our kernel does not run here (AVX-512 VNNI, 32+ channels)\n");
        return 2;
    }
    qat::onednn::DepthwiseInt8 k;
    k.init(w.data(), c, nullptr, info, true, stride, kernel);
    const qat::onednn::DepthwiseInt8Geometry g{1, ho, ho, h, h};
    ConvSpec s{c, c, c, kernel, stride, h, h};
    s.swish = swish;
    if (swish) s.dst_t = dt::s8;
    char label[96];
    std::snprintf(label, sizeof label, "depthwise %dx%d %dx%dx%d stride %d%s", kernel, kernel, h, h, c, stride,
                  swish ? " swish" : "");
    against_onednn(s, ho, x.data(), y_dnnl.data(), label, [&](int threads) { k.run(g, x.data(), y.data(), threads); });
    return 0;
}

int pointwise(int h, int k, int m, bool residual, bool swish) {
    std::vector<uint8_t> x = activations(static_cast<size_t>(h) * h * k), y(static_cast<size_t>(h) * h * m),
                         y_dnnl(y.size());
    const std::vector<int8_t> w = weights(static_cast<size_t>(m) * k);
    qat::ir::fused::FusedOpInfo info = relu6_info(m, qat::DataType::kUint8);
    if (residual) {
        // ResNet's last 1x1 of a block: the residual summed in place, then ReLU.
        info.post_ops = {qat::ir::fused::PostOp::kAdd, qat::ir::fused::PostOp::kRelu};
        info.residual_scale = 0.05f;
        info.out_dtype = qat::DataType::kInt8;
    }
    if (swish) {
        // EfficientNet's expand / head convolutions: swish alone, int8 out.
        info.post_ops = {qat::ir::fused::PostOp::kSwish};
        info.out_dtype = qat::DataType::kInt8;
    }
    if (!qat::onednn::pointwise_int8_available() || !qat::onednn::pointwise_int8_fits(info, k, m)) {
        std::fprintf(stderr, "qat_chain_experiments: pw: our kernel does not take this shape here\n");
        return 2;
    }
    qat::onednn::PointwiseInt8 kern;
    kern.init(w.data(), m, k, nullptr, info, true);
    const qat::onednn::PointwiseInt8Geometry g{1, h, h, h, h, 1, 1};
    ConvSpec s{k, m, 1, 1, 1, h, h};
    s.sum = residual;
    s.swish = swish;
    if (swish) s.dst_t = dt::s8;
    char label[96];
    std::snprintf(label, sizeof label, "1x1 %dx%dx%d -> %d%s", h, h, k, m,
                  residual ? " + residual"
                  : swish  ? " swish"
                           : "");
    // With a residual, both sum into their own output in place (its values drift: timing only).
    against_onednn(s, h, x.data(), y_dnnl.data(), label, [&](int threads) {
        kern.run(g, x.data(), residual ? y.data() : nullptr, false, y.data(), threads);
    });
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string what = argc > 1 ? argv[1] : "";
    if (what == "mobilenet") return mobilenet();
    if (what == "rowsplit") return rowsplit();
    if (what == "dw" && argc >= 4) {
        // dw H C, then in any order: a stride (1 or 2), `swish`, `k5`.
        const int h = std::atoi(argv[2]), c = std::atoi(argv[3]);
        int stride = 1, kernel = 3;
        bool swish = false, ok = h > 0 && c > 0;
        for (int i = 4; i < argc && ok; ++i) {
            const std::string a = argv[i];
            if (a == "1" || a == "2")
                stride = std::atoi(argv[i]);
            else if (a == "swish")
                swish = true;
            else if (a == "k5")
                kernel = 5;
            else
                ok = false;
        }
        if (!ok) {
            std::fprintf(stderr,
                         "qat_chain_experiments: dw: H and C must be positive integers, then optionally a stride (1 "
                         "or 2), `swish`, `k5`\n");
            return 2;
        }
        return depthwise(h, c, stride, swish, kernel);
    }
    if (what == "pw" &&
        (argc == 5 || (argc == 6 && (std::string(argv[5]) == "res" || std::string(argv[5]) == "swish")))) {
        const int h = std::atoi(argv[2]), k = std::atoi(argv[3]), m = std::atoi(argv[4]);
        if (h <= 0 || k <= 0 || m <= 0) {
            std::fprintf(stderr, "qat_chain_experiments: pw: H, K and M must be positive integers\n");
            return 2;
        }
        return pointwise(h, k, m, argc == 6 && std::string(argv[5]) == "res",
                         argc == 6 && std::string(argv[5]) == "swish");
    }
    if (what == "fuse" && argc == 8) {
        int v[6];
        for (int i = 0; i < 6; ++i) {
            v[i] = std::atoi(argv[2 + i]);
            if (v[i] <= 0) {
                std::fprintf(stderr, "qat_chain_experiments: fuse: '%s' is not a positive integer\n", argv[2 + i]);
                return 2;
            }
        }
        if (v[4] > 2 || v[0] < 2) {
            std::fprintf(stderr, "qat_chain_experiments: fuse: stride must be 1 or 2, H at least 2\n");
            return 2;
        }
        return fuse(v[0], v[1], v[2], v[3], v[4], v[5]);
    }
    std::fprintf(stderr,
                 "usage: qat_chain_experiments mobilenet | rowsplit | fuse H CIN CMID COUT STRIDE ROWS | dw H C | pw H "
                 "K M [res]\n"
                 "  (e.g. fuse 56 24 144 24 1 4)\n");
    return 2;
}
