#include "upstream.hpp"

#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include <boost/json/parse.hpp>

#include "line_peer.hpp"

namespace ktstats::test {

std::string upstream_dir() {
  if (const char* dir = std::getenv("KTSTATS_UPSTREAM"); dir != nullptr && *dir != '\0') return dir;
  return KTSTATS_SOURCE_DIR "/../shared/upstream";
}

std::string upstream_program(const std::string& name) {
  return upstream_dir() + "/scx_stats/bin/" + name;
}

boost::json::value json_of(const std::string& text) {
  boost::system::error_code error;
  auto value = boost::json::parse(text, error);
  if (error) ADD_FAILURE() << "not JSON (" << error.message() << "): " << text;
  return value;
}

std::string without_trailing_blanks(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + '\n';
  }
  return out;
}

void PrintTo(Route route, std::ostream* out) {
  *out << (route == Route::kDirect ? "direct" : "through the relay");
}

void UpstreamFixture::SetUp() {
  for (const char* name : {"server", "session_server"}) {
    const auto path = upstream_program(name);
    if (::access(path.c_str(), X_OK) != 0) {
      GTEST_SKIP() << "upstream " << name << " not found at " << path
                   << ": conformance with upstream scx_stats not checked";
    }
  }
  if (route_ == Route::kRelay) {
    bridge.emplace(vm_socket, port_socket);
    relay.emplace(Process::spawn({program("KTSTATS_RELAY", KTSTATS_RELAY), "--port", port_socket,
                                  "--socket", server_socket}));
  }
}

void UpstreamFixture::start_example_server() {
  // It runs until a byte or EOF comes on its stdin: the pipe stays open
  // until the process is killed.
  Process::Options options;
  options.stdin_pipe = true;
  server.emplace(Process::spawn({upstream_program("server"), server_socket}, options));
  // It logs on stdout, "Server listening" once its socket is bound.
  for (;;) {
    auto line = server->read_line();
    ASSERT_TRUE(line.has_value()) << "upstream server did not start: " << server->stderr_text();
    if (line->find("Server listening") != std::string::npos) break;
  }
}

void UpstreamFixture::start_session_server() {
  server.emplace(Process::spawn({upstream_program("session_server"), server_socket}));
  ASSERT_TRUE(server->wait_for_stderr("ready ")) << server->stderr_text();
}

std::string UpstreamFixture::endpoint() const {
  return route_ == Route::kDirect ? "scx:" + server_socket : "unix:" + vm_socket;
}

Outcome UpstreamFixture::ktstats(std::vector<std::string> args) {
  args.insert(args.begin(), program("KTSTATS", KTSTATS));
  args.push_back("--connect");
  args.push_back(endpoint());
  return run_program(args, 30s);
}

std::string UpstreamFixture::upstream_answer(const std::string& line) {
  auto peer = LinePeer::connect(server_socket);
  EXPECT_TRUE(peer.send_line(line));
  auto answer = peer.read_line();
  EXPECT_TRUE(answer.has_value()) << "upstream did not answer " << line;
  return answer.value_or("");
}

boost::json::value UpstreamFixture::upstream_resp(const std::string& line) {
  const auto answer = json_of(upstream_answer(line));
  const auto* envelope = answer.if_object();
  const auto* args = envelope == nullptr ? nullptr : envelope->if_contains("args");
  const auto* resp = args == nullptr || !args->is_object() ? nullptr : args->get_object().if_contains("resp");
  EXPECT_NE(resp, nullptr) << "no args.resp in upstream's answer to " << line;
  return resp == nullptr ? boost::json::value() : *resp;
}

}  // namespace ktstats::test
