#include "cli/vms_command.hpp"

#include <poll.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>

#include "cli/exit_status.hpp"
#include "ktstats/errno_text.hpp"
#include "ktstats/terminal_text.hpp"
#include "ktstats/unix_socket.hpp"
#include "render/json_text.hpp"
#include "render/render.hpp"
#include "serve/control_socket.hpp"
#include "serve/serve_status.hpp"

namespace ktstats::cli {
namespace {

using serve::LinkState;
using serve::RelayMode;
using serve::ServeStatus;
using serve::VmStatus;

// Far above any real answer (a few hundred bytes a VM).
constexpr std::size_t kMaxAnswerBytes = 16 * 1024 * 1024;

// The control socket's one line, read within the timeout (or until Ctrl-C).
Result<std::string> read_status_line(const std::string& path, const Invocation& invocation,
                                     const Interrupt& interrupt) {
  auto fd = connect_unix_socket(path);
  if (!fd) return std::move(fd).error();
  const auto deadline = std::chrono::steady_clock::now() + invocation.timeout;
  std::string line;
  char buffer[64 * 1024];
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Timeout{invocation.timeout};
    pollfd fds[2] = {{fd->get(), POLLIN, 0}, {interrupt.fd(), POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(std::min<std::int64_t>(left.count(), 1 << 30)));
    if (ready < 0 && errno != EINTR) return Transport{"poll", errno};
    if (fds[1].revents != 0) return Cancelled{};
    if (ready <= 0 || fds[0].revents == 0) continue;
    const ssize_t got = ::read(fd->get(), buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Transport{"read " + path, errno};
    }
    if (got == 0) return Transport{path + " closed before a whole line", ECONNRESET};
    line.append(buffer, static_cast<std::size_t>(got));
    if (const auto end = line.find('\n'); end != std::string::npos) {
      line.resize(end);
      return line;
    }
    if (line.size() > kMaxAnswerBytes) return ResponseTooLarge{line.size(), kMaxAnswerBytes};
  }
}

// What to do when no serve answered; the status is exit_status()'s.
std::string hint_for(const Error& error) {
  const auto* transport = std::get_if<Transport>(&error);
  const int code = transport != nullptr ? transport->error : 0;
  if (code == ENOENT || code == ECONNREFUSED) {
    return "is ktstats serve running? see systemctl status ktstats-serve; for another runtime "
           "directory, set KTSTATS_RUNTIME_DIR or pass --runtime-dir";
  }
  if (code == EACCES) {
    return "the control socket is for root and the socket group (ktstats): add yourself to it "
           "(adduser $USER ktstats) and log in again";
  }
  return "";
}

int fail(const Error& error, const std::string& path) {
  const std::string hint = hint_for(error);
  // The path is in the error's own words where connecting failed.
  const bool names_path = std::holds_alternative<Transport>(error);
  std::fprintf(stderr, "ktstats: no status from ktstats serve%s: %s%s\n",
               names_path ? "" : (" at " + escape_for_terminal(path, 300)).c_str(),
               describe(error).c_str(), hint.empty() ? "" : (" (" + hint + ")").c_str());
  return exit_status(error);
}

std::string cell(std::string_view text) { return escape_for_terminal(text, 200); }

std::string state_text(const VmStatus& vm) {
  switch (vm.state) {
    case LinkState::kConnected: return "connected";
    case LinkState::kWaitingForSocket: return "waiting for the VMM socket";
    case LinkState::kBackingOff: {
      const double seconds = vm.retry_in ? static_cast<double>(vm.retry_in->count()) / 1000 : 0;
      char text[64];
      std::snprintf(text, sizeof text, "backing off (retry in %.1fs)", seconds);
      return text;
    }
  }
  return "";
}

std::string mode_text(RelayMode mode) {
  switch (mode) {
    case RelayMode::kUnknown: return "-";
    case RelayMode::kSessions: return "sessions";
    case RelayMode::kOneAtATime: return "one at a time";
  }
  return "";
}

std::string relay_text(const VmStatus& vm) {
  if (vm.relay.empty() && vm.relay_version.empty()) return "-";
  return cell(vm.relay.empty() ? "unnamed relay" : vm.relay) + " " + cell(vm.relay_version);
}

std::string utc_text(std::chrono::system_clock::time_point when) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm parts{};
  ::gmtime_r(&seconds, &parts);
  char text[32];
  if (std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &parts) == 0) return "";
  return text;
}

// Rows of cells in aligned columns, two spaces apart; numbers to the right.
std::string aligned(const std::vector<std::vector<std::string>>& rows, std::size_t numbers_from) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t column = 0; column < row.size(); ++column) {
      widths[column] = std::max(widths[column], display_width(row[column]));
    }
  }
  std::string text;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t column = 0; column < row.size(); ++column) {
      const std::string padding(widths[column] - display_width(row[column]), ' ');
      if (column > 0) line += "  ";
      const bool number = column >= numbers_from && column < numbers_from + 3;
      line += number ? padding + row[column] : row[column] + padding;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    text += line + "\n";
  }
  return text;
}

std::string table_of(const ServeStatus& status) {
  std::string text = "ktstats serve " + cell(status.version) + ", pid " + std::to_string(status.pid) +
                     ": " + std::to_string(status.vms.size()) +
                     (status.vms.size() == 1 ? " VM" : " VMs") + "\n";
  if (status.vms.empty()) return text;
  std::vector<std::vector<std::string>> rows = {
      {"VM", "STATE", "RELAY", "MODE", "CLIENTS", "SESSIONS", "REQUESTS", "PORT"}};
  for (const auto& vm : status.vms) {
    rows.push_back({cell(vm.name), state_text(vm), relay_text(vm), mode_text(vm.mode),
                    std::to_string(vm.clients), std::to_string(vm.sessions),
                    std::to_string(vm.requests),
                    cell(vm.uri) + (vm.discovered ? " (discovered)" : "")});
  }
  text += "\n" + aligned(rows, 4);
  std::vector<std::vector<std::string>> errors = {{"VM", "LAST ERROR SINCE", "ERRNO", "ERROR"}};
  for (const auto& vm : status.vms) {
    if (!vm.last_error) continue;
    // Its symbolic name only ("ENOTCONN"): the message says the rest.
    const std::string errno_name = errno_text(vm.last_error->errno_value);
    errors.push_back({cell(vm.name), utc_text(vm.last_error->since),
                      errno_name.substr(0, errno_name.find(' ')), cell(vm.last_error->message)});
  }
  if (errors.size() > 1) text += "\n" + aligned(errors, 99);
  text.pop_back();  // print_result adds the last newline
  return text;
}

}  // namespace

int run_vms(const Invocation& invocation, const Interrupt& interrupt) {
  const std::string path = serve::control_socket_path(invocation.runtime_dir);
  auto line = read_status_line(path, invocation, interrupt);
  if (!line) return fail(line.error(), path);
  auto status = serve::decode_status(*line);
  if (!status) return fail(status.error(), path);
  if (invocation.format == Format::kJson) {
    return print_result(serve::encode_status(*status), invocation.endpoint);
  }
  return print_result(table_of(*status), invocation.endpoint);
}

}  // namespace ktstats::cli
