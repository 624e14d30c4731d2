# Third-party code comes from Debian packages only. A missing one stops the
# configure step with the package to install.
function(ktstats_require package debian_package)
  find_package(${package} ${ARGN} QUIET)
  if(NOT ${package}_FOUND)
    message(FATAL_ERROR
      "${package} was not found. Install it with: apt-get install -y ${debian_package}")
  endif()
endfunction()

set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)

# Boost.JSON is compiled into ktstats_common from its headers (header-only
# mode) so that it gets our sanitizer, fuzzing and size flags; the version
# check still comes from its CMake package.
ktstats_require(boost_json libboost-json1.81-dev 1.81 CONFIG)
ktstats_require(boost_headers libboost-json1.81-dev 1.81 CONFIG)
ktstats_require(spdlog libspdlog-dev CONFIG)
ktstats_require(fmt libfmt-dev CONFIG)
ktstats_require(CLI11 libcli11-dev CONFIG)
# The /metrics endpoint: TLS (OpenSSL), its web config file (YAML), bcrypt
# hashes (libcrypt, which has no CMake package: linked by name).
ktstats_require(OpenSSL libssl-dev)
ktstats_require(yaml-cpp libyaml-cpp-dev CONFIG)
if(KTSTATS_BUILD_TESTS)
  ktstats_require(GTest "googletest libgtest-dev" CONFIG)
endif()
