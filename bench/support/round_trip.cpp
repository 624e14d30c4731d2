#include "round_trip.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace ktstats::bench {

RoundTripClient::RoundTripClient(UniqueFd fd) : fd_(std::move(fd)) {
  ::fcntl(fd_.get(), F_SETFL, ::fcntl(fd_.get(), F_GETFL) & ~O_NONBLOCK);
  timeval timeout{10, 0};
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  buffer_.resize(1 << 20);
}

std::optional<std::size_t> RoundTripClient::ask(std::string_view request_line) {
  while (!request_line.empty()) {
    const ssize_t n = ::send(fd_.get(), request_line.data(), request_line.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    request_line.remove_prefix(static_cast<std::size_t>(n));
  }
  // Each answer is read whole before the next request: nothing is left over.
  std::size_t length = 0;
  for (;;) {
    if (length == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    const ssize_t n = ::recv(fd_.get(), buffer_.data() + length, buffer_.size() - length, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    const auto* newline = std::memchr(buffer_.data() + length, '\n', static_cast<std::size_t>(n));
    length += static_cast<std::size_t>(n);
    if (newline != nullptr) return length;
  }
}

std::vector<double> RoundTripClient::time(std::string_view request_line, std::size_t count) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> samples;
  samples.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto start = Clock::now();
    if (!ask(request_line)) return {};
    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  return samples;
}

}  // namespace ktstats::bench
