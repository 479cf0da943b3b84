# Heavy dependencies sit behind options, ON where the machine has them; the core builds and
# tests without any of them.
option(QAT_BUILD_TESTS "Build the tests" ON)
option(QAT_BUILD_BENCH "Build the benchmarks" ON)
option(QAT_WERROR "Treat warnings as errors" OFF)

find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PNG)
find_package(JPEG)
find_package(Threads REQUIRED)

find_package(dnnl QUIET)
if(dnnl_FOUND)
    set(_qat_onednn_default ON)
else()
    set(_qat_onednn_default OFF)
endif()
option(QAT_WITH_ONEDNN "Build the oneDNN CPU backend" ${_qat_onednn_default})

find_package(Torch QUIET)
if(Torch_FOUND)
    set(_qat_torch_default ON)
else()
    set(_qat_torch_default OFF)
endif()
option(QAT_WITH_TORCH "Build QAT training on libtorch" ${_qat_torch_default})

include(CheckLanguage)
check_language(CUDA)
if(CMAKE_CUDA_COMPILER)
    set(_qat_cuda_default ON)
else()
    set(_qat_cuda_default OFF)
endif()
option(QAT_WITH_CUDA "Build the CUDA backend (runs only where a GPU is present)" ${_qat_cuda_default})

if(QAT_WITH_ONEDNN AND NOT dnnl_FOUND)
    find_package(dnnl REQUIRED)
endif()
if(QAT_WITH_TORCH AND NOT Torch_FOUND)
    find_package(Torch REQUIRED)
endif()
if(QAT_WITH_CUDA)
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
endif()

if(QAT_BUILD_TESTS)
    find_package(GTest REQUIRED)
endif()
if(QAT_BUILD_BENCH)
    find_package(benchmark REQUIRED)
endif()

# tcmalloc: convolution backward in libtorch is ~8x faster with it on these machines.
find_library(QAT_TCMALLOC_LIB NAMES tcmalloc_minimal libtcmalloc_minimal.so.4 tcmalloc)

# The OpenMP runtime of the engine's executables. Debian's oneDNN is built on GNU OpenMP, whose
# barriers end with a futex system call whether or not a thread sleeps: two per oneDNN primitive,
# dear in these virtual machines (MobileNetV2 INT8 batch 1 spent ~10% of its time there). LLVM's
# libomp implements the same GOMP_* entry points and does not: linked ahead of libgomp it serves
# oneDNN's calls and ours (qat_engine_openmp, docs/ENGINE.md). libtorch's executables stay on
# libgomp, the runtime libtorch was built with.
set(QAT_OPENMP_RUNTIME "llvm" CACHE STRING "OpenMP runtime of the engine executables: llvm (libomp, when found) or gnu")
set_property(CACHE QAT_OPENMP_RUNTIME PROPERTY STRINGS llvm gnu)
if(NOT QAT_OPENMP_RUNTIME MATCHES "^(llvm|gnu)$")
    message(FATAL_ERROR "QAT_OPENMP_RUNTIME is '${QAT_OPENMP_RUNTIME}'; expected llvm or gnu")
endif()
unset(QAT_LIBOMP)
if(QAT_OPENMP_RUNTIME STREQUAL "llvm")
    # libomp-dev's library; libomp5.so is its name in the multiarch folder.
    find_library(QAT_LIBOMP_LIB NAMES omp omp5 libomp.so.5)
    if(QAT_LIBOMP_LIB)
        set(QAT_LIBOMP ${QAT_LIBOMP_LIB})
    else()
        message(STATUS "qat: LLVM libomp not found (Debian: libomp-dev); the engine runs on GNU OpenMP")
    endif()
endif()

message(STATUS "qat: oneDNN=${QAT_WITH_ONEDNN} torch=${QAT_WITH_TORCH} cuda=${QAT_WITH_CUDA} tcmalloc=${QAT_TCMALLOC_LIB} "
               "openmp=${QAT_OPENMP_RUNTIME} ${QAT_LIBOMP}")
