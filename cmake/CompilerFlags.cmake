# Warnings are bugs: every target in the tree is built with these, and
# developers' and CI's builds (scripts/build, .ci/run) make them errors.
# Off by default: a user's compiler or a distribution's flags may warn where
# ours do not, and that must not stop a build.
add_compile_options(-Wall -Wextra)
if(KTSTATS_WERROR)
  add_compile_options(-Werror)
endif()

# GCC 12's -Wrestrict misfires inside libstdc++'s std::string at -O3 (GCC
# bug 105329): `"x" + str`, even `str = "_"`, "may overlap" depending on
# inlining, so Release builds warn at ordinary code that changes nothing.
# Later GCCs and clang keep the warning.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  add_compile_options(-Wno-restrict)
endif()

if(KTSTATS_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(KTSTATS_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT KTSTATS_SANITIZE STREQUAL "")
  message(FATAL_ERROR "KTSTATS_SANITIZE must be empty, 'address' or 'thread', not '${KTSTATS_SANITIZE}'")
endif()

if(KTSTATS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "KTSTATS_FUZZ needs clang: configure with -DCMAKE_CXX_COMPILER=clang++ (apt-get install -y clang)")
  endif()
  # Coverage for the fuzzer, ASan+UBSan to turn bugs into crashes.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# Sanitizers inflate memory (shadow, quarantine): memory bounds in tests
# are only asserted without them.
if(NOT KTSTATS_SANITIZE STREQUAL "" OR KTSTATS_FUZZ)
  add_compile_definitions(KTSTATS_SANITIZER_BUILD=1)
endif()

# A sanitizer runtime cannot be linked statically, so the static relay is
# only static in plain builds.
if(KTSTATS_SANITIZE STREQUAL "" AND NOT KTSTATS_FUZZ)
  set(KTSTATS_STATIC_RELAY ON)
else()
  set(KTSTATS_STATIC_RELAY OFF)
endif()
