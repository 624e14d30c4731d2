// fake-scheduler: an scx_stats server that behaves like a sched_ext
// scheduler's, for tests and demos. It answers "stats" (targets "top" and
// "layers") and "stats_meta", keeps per-connection state like upstream (a
// delta since the previous read on the same connection), and misbehaves on
// request: --fault for every request, or a "fault" argument for one.
//
// --announce prints each request on stdout as it arrives, so a test can wait
// for it. --reply-bytes N answers every request with one fixed line of N
// bytes, built once: benchmarks measure the bridge, not this server.
//
// Faults: delay:MS, stats-delay:MS (only "stats" late: a scheduler whose
// stats take time to gather, its schema at once), silent (never answers), close (closes without
// answering), close-mid-line, oversize:BYTES (a line that long), flood:BYTES
// (that many bytes and no newline, connection kept open), garbage, twice
// (answers twice), no-newline, control (a payload full of terminal control
// characters), bad-utf8, nul (a NUL byte in a string), deep:N (an array
// nested N deep).
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <CLI/CLI.hpp>

#include "ktstats/line_framer.hpp"
#include "wire/request.hpp"
#include "ktstats/unique_fd.hpp"

namespace {

using boost::json::object;
using boost::json::value;

std::atomic<std::uint64_t> g_requests{0};
bool g_announce = false;
std::string g_fixed_reply;

struct Connection {
  std::uint64_t reads = 0;
  std::uint64_t requests_at_last_read = 0;
};

constexpr const char* kMeta = R"({
  "Metrics": {"name": "Metrics", "desc": "Fake scheduler statistics", "top": null,
    "fields": {
      "nr_cpus": {"datum": "u64", "desc": "Number of CPUs"},
      "total_requests": {"datum": "u64", "desc": "Requests served on all connections"},
      "requests_delta": {"datum": "u64", "desc": "Requests since the previous read on this connection"},
      "session_reads": {"datum": "u64", "desc": "Reads on this connection"},
      "busy": {"datum": "float", "desc": "CPU busy percentage"},
      "mode": {"datum": "string", "desc": "Scheduling mode"},
      "layers": {"dict": {"key": "string", "datum": {"struct": "LayerStats"}}, "desc": "Per-layer statistics"}
    },
    "user": {"_om_prefix": "fake_"}},
  "LayerStats": {"name": "LayerStats", "desc": "One layer",
    "fields": {
      "util": {"datum": "float", "desc": "Layer utilisation"},
      "nr_tasks": {"datum": "i64", "desc": "Tasks in the layer"},
      "note": {"datum": "string", "desc": "Free text", "user": {"_om_skip": true}}
    },
    "user": {"_om_prefix": "fake_layer_", "_om_label": "layer_name"}}
})";

value layers() {
  return boost::json::parse(
      R"({"batch":{"util":12.5,"nr_tasks":3,"note":"bulk"},"interactive":{"util":80.25,"nr_tasks":7,"note":"ui"}})");
}

std::string envelope(int errno_value, value resp) {
  object args;
  args["resp"] = std::move(resp);
  object env;
  env["errno"] = errno_value;
  env["args"] = std::move(args);
  return boost::json::serialize(env) + "\n";
}

std::string answer(const ktstats::Request& request, Connection& connection) {
  const std::uint64_t now = ++g_requests;
  if (request.req == "stats_meta") return envelope(0, boost::json::parse(kMeta));
  if (request.req != "stats") {
    return envelope(EINVAL, value("Unknown request \"" + request.req + "\""));
  }
  const auto target = request.args.count("target") ? request.args.at("target") : "top";
  if (target == "layers") return envelope(0, layers());
  if (target != "top") return envelope(EINVAL, value("Unknown target \"" + target + "\""));
  object stats;
  stats["nr_cpus"] = 4;
  stats["total_requests"] = now;
  stats["requests_delta"] = now - connection.requests_at_last_read;
  stats["session_reads"] = ++connection.reads;
  stats["busy"] = 42.5;
  stats["mode"] = "fake";
  stats["layers"] = layers();
  connection.requests_at_last_read = now;
  return envelope(0, std::move(stats));
}

// {"errno":0,"args":{"resp":"xxx..."}} plus newline, exactly `bytes` long.
std::string fixed_reply(std::size_t bytes) {
  const std::string head = R"({"errno":0,"args":{"resp":")";
  const std::string tail = "\"}}\n";
  return head + std::string(bytes - head.size() - tail.size(), 'x') + tail;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Returns false when the connection must end.
bool respond(int fd, const std::string& line, Connection& connection,
             const std::string& default_fault) {
  if (!g_fixed_reply.empty()) return send_all(fd, g_fixed_reply);
  if (g_announce) {
    std::printf("request %s\n", line.c_str());
    std::fflush(stdout);
  }
  auto request = ktstats::decode_request(line);
  if (!request) {
    return send_all(fd, envelope(EINVAL, value(ktstats::describe(request.error()))));
  }
  std::string fault = default_fault;
  if (auto it = request->args.find("fault"); it != request->args.end()) {
    fault = it->second;
    request->args.erase(it);
  }
  const std::string reply = answer(*request, connection);
  const auto colon = fault.find(':');
  const std::string kind = fault.substr(0, colon);
  const long number = colon == std::string::npos ? 0 : std::stol(fault.substr(colon + 1));
  if (kind == "delay" || (kind == "stats-delay" && request->req == "stats")) {
    std::this_thread::sleep_for(std::chrono::milliseconds(number));
  }
  if (kind == "silent") return true;
  if (kind == "close") return false;
  if (kind == "close-mid-line") {
    send_all(fd, std::string_view(reply).substr(0, reply.size() / 2));
    return false;
  }
  if (kind == "oversize") {
    const std::string big = "{\"errno\":0,\"args\":{\"resp\":\"" +
                            std::string(static_cast<std::size_t>(number), 'x') + "\"}}\n";
    return send_all(fd, big);
  }
  if (kind == "errno") {
    return send_all(fd, envelope(static_cast<int>(number), value("fake: failing as asked")));
  }
  if (kind == "garbage") return send_all(fd, "\x1b[2J not json \x07\n");
  if (kind == "control") {
    return send_all(fd, envelope(0, value("\x1b]0;owned\x07\xc2\x9b" "2J\x7f")));
  }
  if (kind == "no-newline") {
    send_all(fd, std::string_view(reply).substr(0, reply.size() - 1));
    return false;
  }
  if (kind == "twice") return send_all(fd, reply + reply);
  if (kind == "flood") return send_all(fd, std::string(static_cast<std::size_t>(number), 'x'));
  if (kind == "bad-utf8") return send_all(fd, "{\"errno\":0,\"args\":{\"resp\":\"caf\xc3(\xff\"}}\n");
  if (kind == "nul") return send_all(fd, std::string("{\"errno\":0,\"args\":{\"resp\":\"a\0b\"}}\n", 34));
  if (kind == "deep") {
    const auto depth = static_cast<std::size_t>(number);
    return send_all(fd, "{\"errno\":0,\"args\":{\"resp\":" + std::string(depth, '[') +
                            std::string(depth, ']') + "}}\n");
  }
  return send_all(fd, reply);
}

void serve(ktstats::UniqueFd fd, std::string fault) {
  Connection connection;
  ktstats::LineFramer framer;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    framer.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
    while (auto frame = framer.next()) {
      const auto* line = std::get_if<std::string>(&*frame);
      if (line == nullptr) {
        send_all(fd.get(), envelope(EINVAL, value("request too long")));
        continue;
      }
      if (line->empty()) continue;
      if (!respond(fd.get(), *line, connection, fault)) return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"A fake sched_ext scheduler's scx_stats server", "fake-scheduler"};
  std::string socket_path = "/var/run/scx/root/stats";
  std::string fault;
  bool close_after_accept = false;
  app.add_option("--socket", socket_path, "Socket to listen on")->capture_default_str();
  app.add_option("--fault", fault, "Misbehave on every request (see source)");
  app.add_flag("--close-after-accept", close_after_accept, "Close each connection at once");
  app.add_flag("--announce", g_announce, "Print each request on stdout");
  std::size_t reply_bytes = 0;
  app.add_option("--reply-bytes", reply_bytes, "Answer every request with one fixed line this long")
      ->check(CLI::Range(std::size_t{32}, std::size_t{64} << 20));
  CLI11_PARSE(app, argc, argv);
  if (reply_bytes != 0) g_fixed_reply = fixed_reply(reply_bytes);

  std::signal(SIGPIPE, SIG_IGN);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) {
    std::fprintf(stderr, "fake-scheduler: socket path too long\n");
    return 64;
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size());
  ktstats::UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ::unlink(socket_path.c_str());
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener.get(), 64) != 0) {
    std::fprintf(stderr, "fake-scheduler: cannot listen on %s: %s\n", socket_path.c_str(),
                 std::strerror(errno));
    return 69;
  }
  std::printf("ready %s\n", socket_path.c_str());
  std::fflush(stdout);
  for (;;) {
    ktstats::UniqueFd client(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    if (close_after_accept) continue;
    std::thread(serve, std::move(client), fault).detach();
  }
}
