#pragma once

#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats::cli {

// SIGINT and SIGTERM as a descriptor that every wait polls, so Ctrl-C ends
// a wait at once and the command unwinds normally (Cancelled).
class Interrupt {
 public:
  static Result<Interrupt> install();
  int fd() const { return fd_.get(); }

 private:
  explicit Interrupt(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace ktstats::cli
