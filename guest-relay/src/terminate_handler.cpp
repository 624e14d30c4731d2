// The relay's terminate handler, in place of libstdc++'s default of the same
// name: that one prints the uncaught exception's type demangled, and the
// demangler it needs is 47 KB of the static relay (docs/PERFORMANCE.md,
// "The relay's footprint"). This one prints the exception's what().
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <exception>

namespace {

void write_stderr(const char* text) {
  (void)::write(STDERR_FILENO, text, std::strlen(text));
}

}  // namespace

namespace __gnu_cxx {

void __verbose_terminate_handler() {
  static bool terminating = false;
  if (terminating) std::abort();  // terminate called again while reporting
  terminating = true;
  write_stderr("ktstats-relay: terminate called");
  if (const auto current = std::current_exception()) {
    try {
      std::rethrow_exception(current);
    } catch (const std::exception& e) {
      write_stderr(" after an uncaught exception: ");
      write_stderr(e.what());
    } catch (...) {
      write_stderr(" after an uncaught exception");
    }
  }
  write_stderr("\n");
  std::abort();
}

}  // namespace __gnu_cxx
