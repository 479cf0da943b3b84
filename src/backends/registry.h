// The kernel registry of every backend compiled into this build, in priority order:
// cuda (when built and a GPU is present), onednn (when built), ref (always, last).
#pragma once

#include <string>
#include <vector>

#include "runtime/kernel_registry.h"

namespace qat::backends {

const runtime::KernelRegistry& default_registry();
// Names of the compiled-in backends usable on this machine, highest priority first.
std::vector<std::string> available_backends();
// Backend names a user may pass to --backend: the available ones.
bool is_available(const std::string& backend);

}  // namespace qat::backends
