// Internal to the reference backend: one registration function per group of ops, and the
// helper that adds a "ref" candidate.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "runtime/kernel_registry.h"

namespace qat::ref {

// Adds a "ref" candidate for op_type. `supports` may be null (always supported).
void add_ref_kernel(runtime::KernelRegistry& reg, const std::string& op_type,
                    std::function<Result<std::unique_ptr<runtime::Kernel>>(const ir::Node&)> create,
                    std::function<Status(const ir::Node&)> supports = nullptr, const std::string& domain = "");

// A kernel from a plain function (most reference kernels need no state).
using KernelFn = std::function<Status(runtime::KernelContext&)>;
std::unique_ptr<runtime::Kernel> make_fn_kernel(KernelFn fn);

void register_elementwise_kernels(runtime::KernelRegistry& reg);

}  // namespace qat::ref
