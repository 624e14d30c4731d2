#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"
#include "serve/runtime_dir.hpp"

namespace ktstats::serve {

// The control socket's directory in the runtime directory: '+' is never in
// a VM's name, so no VM's directory can take its place.
inline constexpr std::string_view kControlDirName = "+control";

// RUNTIME/+control/stats.
std::string control_socket_path(std::string_view runtime_dir);

// serve's control socket: every connection gets one JSON line, serve's
// status (serve_status.hpp), and is closed; nothing is read from it. The
// socket is made as a VM's is (0660, the sockets' group, the same checks).
class ControlSocket {
 public:
  // client_tag: the epoll tag of its clients, with a client's number in
  // the low 40 bits.
  static Result<ControlSocket> open(const RuntimeDir& runtime, int epoll, std::uint64_t client_tag);

  int listener() const { return socket_.listener.get(); }
  // Takes the waiting connections, each given `answer` (a line, newline
  // included): written at once as far as the socket takes it, the rest
  // when it is writable.
  void accept_all(const std::string& answer);
  void on_writable(std::uint64_t client);
  // Closes its clients, removes the socket.
  void remove(const RuntimeDir& runtime);

 private:
  struct Reader {
    std::uint64_t id;
    UniqueFd fd;
    std::string output;
    std::size_t written = 0;
  };
  ControlSocket(VmSocket socket, int epoll, std::uint64_t client_tag)
      : socket_(std::move(socket)), epoll_(epoll), client_tag_(client_tag) {}
  // True when the reader is done (all written, or failed).
  static bool write_some(Reader& reader);
  void drop(std::deque<Reader>::iterator reader);

  VmSocket socket_;
  int epoll_;
  std::uint64_t client_tag_;
  std::deque<Reader> readers_;  // with answer bytes still to write, oldest first
  std::uint64_t next_id_ = 1;
};

}  // namespace ktstats::serve
