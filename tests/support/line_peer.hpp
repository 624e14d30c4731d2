#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "ktstats/line_framer.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats::test {

using namespace std::chrono_literals;

// A listening Unix socket: the VMM's chardev socket in tests.
class Listener {
 public:
  explicit Listener(std::string path);
  const std::string& path() const { return path_; }
  // Waits for a connection; an invalid fd after the timeout.
  UniqueFd accept(std::chrono::milliseconds timeout = 10s);
  void close() { fd_.reset(); }

 private:
  std::string path_;
  UniqueFd fd_;
};

// One side of a line-oriented connection, every wait bounded.
class LinePeer {
 public:
  explicit LinePeer(UniqueFd fd) : fd_(std::move(fd)), framer_(16 * 1024 * 1024) {}
  static LinePeer connect(const std::string& path);

  bool write(std::string_view bytes);
  bool send_line(std::string_view line) { return write(std::string(line) + "\n"); }
  // Next line, or nullopt on EOF or timeout.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = 10s);
  // True if the peer closes (EOF) within the timeout, with no line first.
  bool closed_within(std::chrono::milliseconds timeout);
  int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
  LineFramer framer_;
};

}  // namespace ktstats::test
