#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "process.hpp"
#include "vmm_bridge.hpp"

namespace ktstats::test {

// Where the upstream programs are: ../shared/upstream from the project root
// (KTSTATS_UPSTREAM overrides it).
std::string upstream_dir();
std::string upstream_program(const std::string& name);

// Parsed JSON; a test failure and null when the text is not JSON.
boost::json::value json_of(const std::string& text);

// Each line with its trailing blanks removed.
std::string without_trailing_blanks(const std::string& text);

enum class Route { kDirect, kRelay };
void PrintTo(Route route, std::ostream* out);  // for test names

// An upstream server (upstream's example `server`, or `session_server`, a
// scheduler-like server built on the upstream crate) and ktstats run
// against it, directly (scx:) or through ktstats-relay behind a stand-in
// VMM (unix:). Skips the test when the upstream programs are absent.
class UpstreamFixture : public ::testing::Test {
 protected:
  explicit UpstreamFixture(Route route) : route_(route) {}
  void SetUp() override;

  void start_example_server();
  void start_session_server();

  std::string endpoint() const;
  // ktstats with ARGS and --connect endpoint(), run to its end.
  Outcome ktstats(std::vector<std::string> args);
  // The server's answer to LINE, asked on a connection of its own, directly.
  std::string upstream_answer(const std::string& line);
  // Its args.resp.
  boost::json::value upstream_resp(const std::string& line);

  Route route_;
  TempDir dir;
  std::string server_socket = dir / "stats";
  std::string port_socket = dir / "port";
  std::string vm_socket = dir / "vm.sock";
  std::optional<Process> server;
  std::optional<VmmBridge> bridge;
  std::optional<Process> relay;
};

}  // namespace ktstats::test
