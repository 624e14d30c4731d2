#include "client/pipe_channel.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "ktstats/terminal_text.hpp"

namespace ktstats::cli {
namespace {

class PipeChannel final : public Channel {
 public:
  PipeChannel(UniqueFd in, UniqueFd out, std::string path)
      : to_guest_(std::move(in)), from_guest_(std::move(out)), path_(std::move(path)) {}
  IoResult read(std::span<char> buffer) override { return read_fd_into(from_guest_.get(), buffer); }
  IoResult write(std::string_view bytes) override { return write_fd_from(to_guest_.get(), bytes); }
  int read_fd() const override { return from_guest_.get(); }
  int write_fd() const override { return to_guest_.get(); }
  std::string description() const override { return "pipe " + path_ + ".{in,out}"; }

 private:
  UniqueFd to_guest_;
  UniqueFd from_guest_;
  std::string path_;
};

Result<UniqueFd> open_fifo(const std::string& path) {
  const std::string shown = escape_for_terminal(path, 200);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    const int error = errno;
    return Transport{"open " + shown, error};
  }
  // Checked on the open descriptor too: the path may have been replaced
  // since it was examined, and a regular file would be overwritten.
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) {
    const int error = errno;
    return Transport{"fstat " + shown, error};
  }
  if (!S_ISFIFO(status.st_mode)) return Transport{shown + " is not a FIFO; nothing was written to it"};
  return fd;
}

}  // namespace

Result<std::unique_ptr<Channel>> open_pipe_channel(const std::string& path) {
  auto in = open_fifo(path + ".in");
  if (!in) return std::move(in).error();
  auto out = open_fifo(path + ".out");
  if (!out) return std::move(out).error();
  return std::unique_ptr<Channel>(
      std::make_unique<PipeChannel>(std::move(*in), std::move(*out), path));
}

}  // namespace ktstats::cli
