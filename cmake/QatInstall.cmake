# Install rules and the CMake package (find_package(qat) -> target qat::qat).
#
# Installs the public headers (include/qat/), the static libraries qat_api is made of (found by
# walking its link closure, so a library added to or removed from qat_api needs no edit here),
# the `qat` command, and lib/cmake/qat/{qatConfig,qatConfigVersion,qatTargets}.cmake.
# Included from the top-level CMakeLists.txt after src/, when every target exists.
#
#   cmake --install build --prefix /opt/qat
#   # another project:
#   find_package(qat REQUIRED)            # CMAKE_PREFIX_PATH=/opt/qat
#   target_link_libraries(app PRIVATE qat::qat)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(QAT_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/qat CACHE STRING "Where qatConfig.cmake is installed")

# qat::qat is qat_api; in the build tree too, so an in-tree consumer reads the same.
set_target_properties(qat_api PROPERTIES EXPORT_NAME qat)
target_include_directories(qat_api INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
if(NOT TARGET qat::qat)
    add_library(qat::qat ALIAS qat_api)
endif()

# Every qat_* library in qat_api's link closure (static libraries must all be installed, and an
# export set must hold every target its targets link).
set(_qat_install_libs qat_api)
set(_qat_work qat_api)
while(_qat_work)
    list(POP_FRONT _qat_work _t)
    get_target_property(_deps ${_t} LINK_LIBRARIES)
    get_target_property(_ideps ${_t} INTERFACE_LINK_LIBRARIES)
    foreach(_d IN LISTS _deps _ideps)
        if(_d MATCHES "^\\$<LINK_ONLY:(.*)>$")
            set(_d ${CMAKE_MATCH_1})
        endif()
        if(_d MATCHES "^qat_" AND TARGET ${_d} AND NOT _d IN_LIST _qat_install_libs)
            list(APPEND _qat_install_libs ${_d})
            list(APPEND _qat_work ${_d})
        endif()
    endforeach()
endwhile()
set(QAT_PACKAGE_NEEDS_TORCH OFF)
if("qat_train" IN_LIST _qat_install_libs)
    set(QAT_PACKAGE_NEEDS_TORCH ON)
endif()

install(TARGETS ${_qat_install_libs}
        EXPORT qatTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/qat DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(EXPORT qatTargets NAMESPACE qat:: DESTINATION ${QAT_INSTALL_CMAKEDIR})

# The command-line tools.
foreach(_exe qat qat-train)
    if(TARGET ${_exe})
        install(TARGETS ${_exe} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
    endif()
endforeach()

# What the package config must find again: the dependencies of the static libraries.
# (ON/OFF, so that the config's if() never sees an empty value.)
foreach(_flag PNG_FOUND JPEG_FOUND QAT_WITH_ONEDNN QAT_WITH_CUDA)
    string(REGEX REPLACE "_FOUND$" "" _name ${_flag})
    string(REGEX REPLACE "^QAT_WITH_" "" _name ${_name})
    if(${_flag})
        set(QAT_PACKAGE_WITH_${_name} ON)
    else()
        set(QAT_PACKAGE_WITH_${_name} OFF)
    endif()
endforeach()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/qatConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/cmake/qatConfig.cmake
                              INSTALL_DESTINATION ${QAT_INSTALL_CMAKEDIR})
# 0.x: a new minor release may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/qatConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake/qatConfig.cmake ${PROJECT_BINARY_DIR}/cmake/qatConfigVersion.cmake
        DESTINATION ${QAT_INSTALL_CMAKEDIR})
