#pragma once

#include <memory>
#include <string>

#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"

namespace ktstats {

// What read() returning 0 means on a channel.
enum class AfterEof {
  kPeerMayReturn,  // virtio port or tty: the same fd works again when a peer attaches
  kReconnect,      // a socket we connected: open a new connection
  kFinished,       // nothing more will come
};

// A byte stream to the other side, whatever carries it. Both programs talk
// through this interface only; each transport is one small implementation.
// Descriptors are non-blocking and close-on-exec.
class Channel {
 public:
  virtual ~Channel() = default;
  virtual int read_fd() const = 0;
  virtual int write_fd() const = 0;
  virtual AfterEof after_eof() const = 0;
  // For messages: "unix socket /run/vm.sock".
  virtual std::string description() const = 0;
};

// A channel over one descriptor that reads and writes.
class SingleFdChannel : public Channel {
 public:
  SingleFdChannel(UniqueFd fd, AfterEof after_eof, std::string description)
      : fd_(std::move(fd)), after_eof_(after_eof), description_(std::move(description)) {}
  int read_fd() const override { return fd_.get(); }
  int write_fd() const override { return fd_.get(); }
  AfterEof after_eof() const override { return after_eof_; }
  std::string description() const override { return description_; }

 private:
  UniqueFd fd_;
  AfterEof after_eof_;
  std::string description_;
};

}  // namespace ktstats
