# Test helpers shared by every folder under tests/.
#   wcs_unit_test(NAME SOURCES src.c... LIBS lib...)         label "unit" (pure code, seconds)
#   wcs_integration_test(NAME SOURCES ... LIBS ...)           label "integration" (real servers)
#   wcs_fuzz_target(NAME SOURCES ... LIBS ... CORPUS dir)     label "fuzz": the corpus is replayed as
#       a normal test; with -DWCS_FUZZ=ON (clang) a libFuzzer binary NAME-fuzzer is built too.

find_package(PkgConfig REQUIRED)
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

function(_wcs_test label name)
    cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
    add_executable(${name} ${T_SOURCES})
    target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA)
    add_test(NAME ${name} COMMAND ${name})
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 120)
    endif()
    set_tests_properties(${name} PROPERTIES LABELS ${label} TIMEOUT ${T_TIMEOUT})
endfunction()

function(wcs_unit_test name)
    _wcs_test(unit ${name} ${ARGN})
endfunction()

function(wcs_integration_test name)
    _wcs_test(integration ${name} ${ARGN})
endfunction()

function(wcs_fuzz_target name)
    cmake_parse_arguments(F "" "CORPUS" "SOURCES;LIBS" ${ARGN})
    add_executable(${name}-replay ${F_SOURCES} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.c)
    target_link_libraries(${name}-replay PRIVATE ${F_LIBS})
    add_test(NAME ${name}-replay COMMAND ${name}-replay ${F_CORPUS})
    set_tests_properties(${name}-replay PROPERTIES LABELS fuzz TIMEOUT 300)
    if(WCS_FUZZ)
        add_executable(${name}-fuzzer ${F_SOURCES})
        target_link_libraries(${name}-fuzzer PRIVATE ${F_LIBS})
        target_compile_options(${name}-fuzzer PRIVATE -fsanitize=fuzzer,address,undefined)
        target_link_options(${name}-fuzzer PRIVATE -fsanitize=fuzzer,address,undefined)
    endif()
endfunction()
