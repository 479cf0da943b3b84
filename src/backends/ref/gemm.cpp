// Gemm, MatMul: triple loops with a wide accumulator (double for floats, int64 for ints).
#include <vector>

#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_util.h"

namespace qat::ref {
namespace {

// Accumulator type: double for floating point, int64 for integers (int32 MatMul wraps on the
// final store like a two's-complement int32 accumulator would).
template <typename T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

// ---- Gemm: Y = alpha * op(A) * op(B) + beta * C, C unidirectionally broadcast to [M, N] ----

template <typename T>
void gemm(const T* a, const T* b, const T* c, T* y, int64_t m, int64_t n, int64_t k, bool trans_a, bool trans_b,
          double alpha, double beta, int64_t c_rows, int64_t c_cols) {
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double acc = 0.0;
            for (int64_t p = 0; p < k; ++p) {
                const double av = trans_a ? a[p * m + i] : a[i * k + p];
                const double bv = trans_b ? b[j * k + p] : b[p * n + j];
                acc += av * bv;
            }
            double v = alpha * acc;
            if (c) v += beta * static_cast<double>(c[(c_rows == 1 ? 0 : i) * c_cols + (c_cols == 1 ? 0 : j)]);
            y[i * n + j] = static_cast<T>(v);
        }
}

Status run_gemm(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* a, required_input(ctx, 0, "A"));
    QAT_ASSIGN_OR_RETURN(const Tensor* b, required_input(ctx, 1, "B"));
    const Tensor* c = ctx.input(2);
    QAT_RETURN_IF_ERROR(check_dtype(node, *a, "A", {DataType::kFloat32, DataType::kFloat64}));
    QAT_RETURN_IF_ERROR(check_rank(node, *a, "A", 2, 2));
    QAT_RETURN_IF_ERROR(check_rank(node, *b, "B", 2, 2));
    if (b->dtype() != a->dtype() || (c && c->dtype() != a->dtype()))
        return runtime::kernel_error(node, "inputs must share one dtype, got A ", dtype_name(a->dtype()), ", B ",
                                     dtype_name(b->dtype()), c ? std::string(", C ") + dtype_name(c->dtype()) : "");
    const bool trans_a = node.attr_int("transA", 0) != 0;
    const bool trans_b = node.attr_int("transB", 0) != 0;
    const int64_t m = trans_a ? a->dim(1) : a->dim(0);
    const int64_t k = trans_a ? a->dim(0) : a->dim(1);
    const int64_t kb = trans_b ? b->dim(1) : b->dim(0);
    const int64_t n = trans_b ? b->dim(0) : b->dim(1);
    if (k != kb)
        return runtime::kernel_error(node, "A ", dims_to_string(a->dims()), (trans_a ? " (transposed)" : ""), " and B ",
                                     dims_to_string(b->dims()), (trans_b ? " (transposed)" : ""),
                                     " have different inner dims ", k, " and ", kb);
    // C: a scalar, [N], [1, N], [M, 1], [M, N] ... anything unidirectionally broadcastable to [M, N].
    int64_t c_rows = 1, c_cols = 1;
    if (c) {
        if (c->rank() > 2)
            return runtime::kernel_error(node, "C has shape ", dims_to_string(c->dims()), ", expected rank <= 2");
        if (c->rank() == 2) c_rows = c->dim(0);
        if (c->rank() >= 1) c_cols = c->dim(c->rank() - 1);
        if ((c_rows != 1 && c_rows != m) || (c_cols != 1 && c_cols != n))
            return runtime::kernel_error(node, "C has shape ", dims_to_string(c->dims()),
                                         ", not broadcastable to the output [", m, ",", n, "]");
    }
    const double alpha = node.attr_float("alpha", 1.0f);
    const double beta = node.attr_float("beta", 1.0f);
    Tensor& y = ctx.allocate_output(0, a->dtype(), {m, n});
    if (a->dtype() == DataType::kFloat32)
        gemm<float>(a->data<float>(), b->data<float>(), c ? c->data<float>() : nullptr, y.data<float>(), m, n, k,
                    trans_a, trans_b, alpha, beta, c_rows, c_cols);
    else
        gemm<double>(a->data<double>(), b->data<double>(), c ? c->data<double>() : nullptr, y.data<double>(), m, n, k,
                     trans_a, trans_b, alpha, beta, c_rows, c_cols);
    return OkStatus();
}

// ---- MatMul: numpy matmul semantics (batched, broadcast batch dims, 1-D operands) ----

template <typename T>
void matmul(const Tensor& a, const Tensor& b, Tensor& y, const std::vector<int64_t>& a_batch,
            const std::vector<int64_t>& b_batch, const std::vector<int64_t>& out_batch, int64_t m, int64_t k,
            int64_t n) {
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    T* yp = y.data<T>();
    const size_t nb = out_batch.size();
    // Batch strides (in matrices) of A and B; a broadcast dim (size 1) contributes stride 0.
    std::vector<int64_t> a_str(nb, 0), b_str(nb, 0);
    int64_t sa = 1, sb = 1;
    for (size_t i = nb; i-- > 0;) {
        if (a_batch[i] != 1) a_str[i] = sa;
        if (b_batch[i] != 1) b_str[i] = sb;
        sa *= a_batch[i];
        sb *= b_batch[i];
    }
    const int64_t batches = numel_of(out_batch);
    for (int64_t bi = 0; bi < batches; ++bi) {
        // Offsets (in matrices) of this output batch in A and B, from its multi-index.
        int64_t oa = 0, ob = 0, rest = bi;
        for (size_t i = nb; i-- > 0;) {
            const int64_t idx = rest % out_batch[i];
            rest /= out_batch[i];
            oa += idx * a_str[i];
            ob += idx * b_str[i];
        }
        const T* am = ap + oa * m * k;
        const T* bm = bp + ob * k * n;
        T* ym = yp + bi * m * n;
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
                Acc<T> acc = 0;
                for (int64_t p = 0; p < k; ++p)
                    acc += static_cast<Acc<T>>(am[i * k + p]) * static_cast<Acc<T>>(bm[p * n + j]);
                ym[i * n + j] = static_cast<T>(acc);
            }
    }
}

Status run_matmul(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* a, required_input(ctx, 0, "A"));
    QAT_ASSIGN_OR_RETURN(const Tensor* b, required_input(ctx, 1, "B"));
    QAT_RETURN_IF_ERROR(
        check_dtype(node, *a, "A", {DataType::kFloat32, DataType::kFloat64, DataType::kInt32, DataType::kInt64}));
    if (b->dtype() != a->dtype())
        return runtime::kernel_error(node, "A has dtype ", dtype_name(a->dtype()), ", B has ", dtype_name(b->dtype()));
    if (a->rank() < 1 || b->rank() < 1)
        return runtime::kernel_error(node, "operands must have rank >= 1, got ", dims_to_string(a->dims()), " and ",
                                     dims_to_string(b->dims()));
    // numpy: a 1-D A is a row [1, K] and a 1-D B a column [K, 1]; the added dim is dropped after.
    std::vector<int64_t> ad = a->dims(), bd = b->dims();
    const bool a_vec = ad.size() == 1, b_vec = bd.size() == 1;
    if (a_vec) ad.insert(ad.begin(), 1);
    if (b_vec) bd.push_back(1);
    const int64_t m = ad[ad.size() - 2], k = ad.back(), kb = bd[bd.size() - 2], n = bd.back();
    if (k != kb)
        return runtime::kernel_error(node, "cannot multiply ", dims_to_string(a->dims()), " by ",
                                     dims_to_string(b->dims()), ": inner dims ", k, " and ", kb, " differ");
    std::vector<int64_t> a_batch(ad.begin(), ad.end() - 2), b_batch(bd.begin(), bd.end() - 2);
    const size_t nb = std::max(a_batch.size(), b_batch.size());
    a_batch = pad_front(a_batch, nb);
    b_batch = pad_front(b_batch, nb);
    std::vector<int64_t> out_batch(nb);
    for (size_t i = 0; i < nb; ++i) {
        if (a_batch[i] != b_batch[i] && a_batch[i] != 1 && b_batch[i] != 1)
            return runtime::kernel_error(node, "cannot broadcast the batch dims of ", dims_to_string(a->dims()),
                                         " and ", dims_to_string(b->dims()));
        out_batch[i] = a_batch[i] == 1 ? b_batch[i] : a_batch[i];
    }
    std::vector<int64_t> out_dims = out_batch;
    if (!a_vec) out_dims.push_back(m);
    if (!b_vec) out_dims.push_back(n);
    Tensor& y = ctx.allocate_output(0, a->dtype(), out_dims);
    switch (a->dtype()) {
        case DataType::kFloat32:
            matmul<float>(*a, *b, y, a_batch, b_batch, out_batch, m, k, n);
            break;
        case DataType::kFloat64:
            matmul<double>(*a, *b, y, a_batch, b_batch, out_batch, m, k, n);
            break;
        case DataType::kInt32:
            matmul<int32_t>(*a, *b, y, a_batch, b_batch, out_batch, m, k, n);
            break;
        default:
            matmul<int64_t>(*a, *b, y, a_batch, b_batch, out_batch, m, k, n);
            break;
    }
    return OkStatus();
}

}  // namespace

void register_gemm_kernels(runtime::KernelRegistry& reg) {
    add_ref_kernel(reg, "Gemm", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel(run_gemm);
    });
    add_ref_kernel(reg, "MatMul", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel(run_matmul);
    });
}

}  // namespace qat::ref
