#include "ktstats/standard_fds.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace ktstats {

Result<ClosedStandardFds> reserve_standard_fds() {
  ClosedStandardFds closed;
  bool* flags[] = {&closed.input, &closed.output, &closed.error};
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // open() returns the lowest free number, which is this one: 0..fd-1 are
    // open by now.
    const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (opened == -1) return Transport{"open /dev/null for a closed standard descriptor", errno};
    if (opened != fd) {
      ::close(opened);
      return Transport{"open /dev/null for a closed standard descriptor", EBADF};
    }
    *flags[fd] = true;
  }
  return closed;
}

}  // namespace ktstats
