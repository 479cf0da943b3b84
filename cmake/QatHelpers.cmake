# qat_add_library(<name> DIR <dir> [DEPS ...] [PRIVATE_DEPS ...])
# One static library per source folder; sources are the folder's *.cpp (CONFIGURE_DEPENDS so a
# new file is picked up without touching CMake).
set(QAT_WARNINGS -Wall -Wextra -Wno-missing-field-initializers)
if(QAT_WERROR)
    list(APPEND QAT_WARNINGS -Werror)
endif()

function(qat_add_library name)
    cmake_parse_arguments(ARG "" "DIR" "DEPS;PRIVATE_DEPS;EXTRA_SOURCES" ${ARGN})
    file(GLOB _srcs CONFIGURE_DEPENDS ${ARG_DIR}/*.cpp)
    if(NOT _srcs AND NOT ARG_EXTRA_SOURCES)
        # A folder that has no code yet still makes a (empty) library, so dependents link.
        set(_stub ${CMAKE_CURRENT_BINARY_DIR}/${name}_empty.cpp)
        file(WRITE ${_stub} "// ${name} has no sources yet\n")
        set(_srcs ${_stub})
    endif()
    add_library(${name} STATIC ${_srcs} ${ARG_EXTRA_SOURCES})
    target_include_directories(${name} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>
                                              $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>)
    target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
    target_compile_options(${name} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${QAT_WARNINGS}>)
endfunction()

# qat_add_gtest(<name> LABELS <labels> SOURCES <files> DEPS <libs> [ENV ...] [TIMEOUT s] [WHOLE])
# One test binary. By default each test case is its own ctest entry (gtest_discover_tests);
# WHOLE makes the binary a single ctest entry (for binaries with a costly start, e.g. libtorch).
function(qat_add_gtest name)
    cmake_parse_arguments(ARG "WHOLE" "TIMEOUT" "LABELS;SOURCES;DEPS;ENV" ${ARGN})
    add_executable(${name} ${ARG_SOURCES})
    target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
    target_compile_options(${name} PRIVATE ${QAT_WARNINGS})
    # Shared test helpers are included as "<dir>/<name>_test_util.h" from any test folder.
    target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
    target_compile_definitions(${name} PRIVATE QAT_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
                                               QAT_BINARY_DIR="${PROJECT_BINARY_DIR}")
    if(NOT ARG_TIMEOUT)
        set(ARG_TIMEOUT 300)
    endif()
    if(ARG_WHOLE)
        add_test(NAME ${name} COMMAND ${name})
        set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
                                                ENVIRONMENT "${ARG_ENV}")
    else()
        include(GoogleTest)
        gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
                             ENVIRONMENT "${ARG_ENV}" DISCOVERY_TIMEOUT 60)
    endif()
endfunction()
