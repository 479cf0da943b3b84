// DeadCodeElimination: removes nodes whose outputs nobody reads (and that are not graph
// outputs), repeatedly, and initializers nobody reads (unless they are graph inputs).
//
//   before                          after
//   %a = Relu(%x)                   %y = Sigmoid(%x)
//   %y = Sigmoid(%x)        ->
//   (graph output %y; %a unused)
//
// Preconditions: none. Runs last in the engine pipeline, after rewrites have left DQ nodes and
// weights behind.
#pragma once

#include <memory>

#include "passes/pass.h"

namespace qat::passes {

std::unique_ptr<Pass> make_dead_code_pass();

}  // namespace qat::passes
