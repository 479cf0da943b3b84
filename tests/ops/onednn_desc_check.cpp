// The oneDNN backend's memory-desc helpers, against their definitions: is_plain(md) reads the
// desc's fields (it runs twice per kernel run) and must agree with "md equals the row-major desc
// of its dims" as oneDNN compares descs (plain_md, operator==), on every kind of desc the kernels
// produce: plain, channels-last, blocked, padded, offset views, size-1 and size-0 dims.
// Compiled into qat_ops_tests only with the oneDNN backend (tests/ops/CMakeLists.txt).
#include <gtest/gtest.h>

#include <vector>

#include "backends/onednn/onednn_common.h"

namespace qat::onednn {
namespace {

using tag = dnnl::memory::format_tag;

bool plain_by_definition(const md_t& md) {
    if (md.data.format_kind != dnnl_blocked) return false;
    std::vector<int64_t> dims(md.data.dims, md.data.dims + md.data.ndims);
    return md == plain_md(dims, md.data_type());
}

TEST(OnednnDesc, IsPlainAgreesWithTheDefinition) {
    std::vector<std::pair<std::string, md_t>> cases;
    for (dt t : {dt::f32, dt::u8, dt::s8}) {
        cases.push_back({"plain 4d", plain_md({2, 3, 5, 7}, t)});
        cases.push_back({"nchw", md_t({2, 3, 5, 7}, t, tag::nchw)});
        cases.push_back({"nhwc", md_t({2, 3, 5, 7}, t, tag::nhwc)});
        cases.push_back({"nhwc, one channel", md_t({2, 1, 5, 7}, t, tag::nhwc)});
        cases.push_back({"nhwc, 1x1 spatial", md_t({4, 16, 1, 1}, t, tag::nhwc)});
        cases.push_back({"nhwc, all ones", md_t({1, 1, 1, 1}, t, tag::nhwc)});
        cases.push_back({"nChw16c", md_t({2, 32, 5, 7}, t, tag::nChw16c)});
        cases.push_back({"nChw16c padded", md_t({2, 3, 5, 7}, t, tag::nChw16c)});
        cases.push_back({"plain 2d", plain_md({8, 1000}, t)});
        cases.push_back({"transposed 2d", md_t({8, 1000}, t, tag::ba)});
        cases.push_back({"plain 1d", plain_md({17}, t)});
        cases.push_back({"plain 5d", plain_md({1, 4, 3, 5, 7}, t)});
        cases.push_back({"ndhwc", md_t({1, 4, 3, 5, 7}, t, tag::ndhwc)});
        cases.push_back({"zero batch", md_t({0, 3, 5, 7}, t, tag::nchw)});
        cases.push_back({"zero batch nhwc", md_t({0, 3, 5, 7}, t, tag::nhwc)});
        // Odd strides on a size-1 dim: oneDNN ignores them, so is_plain must too.
        cases.push_back({"size-1 dim, odd stride", md_t({3, 1, 4}, t, dnnl::memory::dims{4, 99, 1})});
        cases.push_back({"gapped rows", md_t({3, 4}, t, dnnl::memory::dims{8, 1})});
        md_t base = plain_md({4, 6}, t);
        cases.push_back({"offset view", base.submemory_desc({2, 6}, {2, 0})});
        cases.push_back({"column view", base.submemory_desc({4, 3}, {0, 0})});
        cases.push_back({"leading rows view", base.submemory_desc({2, 6}, {0, 0})});
    }
    cases.push_back({"empty desc", md_t()});
    int plain = 0;
    for (const auto& [name, md] : cases) {
        SCOPED_TRACE(name + " " + md_to_string(md));
        EXPECT_EQ(is_plain(md), plain_by_definition(md));
        plain += plain_by_definition(md);
    }
    // Both answers occur in the list (the comparison above is not all one way).
    EXPECT_GT(plain, 0);
    EXPECT_LT(plain, static_cast<int>(cases.size()));
}

}  // namespace
}  // namespace qat::onednn
