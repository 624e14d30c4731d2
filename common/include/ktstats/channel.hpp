#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats {

// What one read or write on a channel did.
struct IoResult {
  enum class Kind {
    kDone,        // `bytes` moved (at least one)
    kWouldBlock,  // nothing now: wait for readiness
    kEof,         // read only: the peer closed its side
    kFailed,      // `error` is the errno
  } kind;
  std::size_t bytes = 0;
  int error = 0;

  static IoResult done(std::size_t n) { return {Kind::kDone, n, 0}; }
  static IoResult would_block() { return {Kind::kWouldBlock, 0, 0}; }
  static IoResult eof() { return {Kind::kEof, 0, 0}; }
  static IoResult failed(int error) { return {Kind::kFailed, 0, error}; }
};

// A byte stream to the other side, whatever carries it: the verbs read what
// is there, write what fits, and say EOF. Both programs move bytes through
// this interface only; each transport is one small implementation.
// Descriptors are non-blocking and close-on-exec; the fds are handed out
// only to wait for readiness (poll, epoll), never to read or write.
class Channel {
 public:
  virtual ~Channel() = default;
  virtual IoResult read(std::span<char> buffer) = 0;
  virtual IoResult write(std::string_view bytes) = 0;
  virtual int read_fd() const = 0;
  virtual int write_fd() const = 0;
  // For messages: "unix socket /run/vm.sock".
  virtual std::string description() const = 0;
};

// read(2)/write(2) on a descriptor, as a channel result: EINTR retried, a
// socket written without SIGPIPE.
IoResult read_fd_into(int fd, std::span<char> buffer);
IoResult write_fd_from(int fd, std::string_view bytes);

// A channel over one descriptor that reads and writes (a socket, a tty, a
// virtio port).
class SingleFdChannel : public Channel {
 public:
  SingleFdChannel(UniqueFd fd, std::string description)
      : fd_(std::move(fd)), description_(std::move(description)) {}
  IoResult read(std::span<char> buffer) override { return read_fd_into(fd_.get(), buffer); }
  IoResult write(std::string_view bytes) override { return write_fd_from(fd_.get(), bytes); }
  int read_fd() const override { return fd_.get(); }
  int write_fd() const override { return fd_.get(); }
  std::string description() const override { return description_; }

 private:
  UniqueFd fd_;
  std::string description_;
};

}  // namespace ktstats
