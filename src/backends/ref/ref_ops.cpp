#include "backends/ref/ref_ops.h"

namespace qat::ref {
namespace {

class FnKernel : public runtime::Kernel {
  public:
    explicit FnKernel(KernelFn fn) : fn_(std::move(fn)) {}
    Status run(runtime::KernelContext& ctx) override { return fn_(ctx); }

  private:
    KernelFn fn_;
};

}  // namespace

void add_ref_kernel(runtime::KernelRegistry& reg, const std::string& op_type,
                    std::function<Result<std::unique_ptr<runtime::Kernel>>(const ir::Node&)> create,
                    std::function<Status(const ir::Node&)> supports, const std::string& domain) {
    runtime::KernelCandidate c;
    c.backend = "ref";
    c.create = std::move(create);
    c.supports = std::move(supports);
    reg.add(op_type, std::move(c), domain);
}

std::unique_ptr<runtime::Kernel> make_fn_kernel(KernelFn fn) { return std::make_unique<FnKernel>(std::move(fn)); }

}  // namespace qat::ref
