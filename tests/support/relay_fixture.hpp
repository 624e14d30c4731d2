#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "line_peer.hpp"
#include "process.hpp"

namespace ktstats::test {

// A fake scheduler, and a relay whose port is a Unix socket the test
// listens on, as a VMM's chardev socket would be: each accepted connection
// is one host session.
class RelayFixture : public ::testing::Test {
 protected:
  void start_scheduler(std::vector<std::string> extra = {});
  void stop_scheduler();
  void start_relay(std::vector<std::string> extra = {});
  // Accepts the relay's next connection: a new host session.
  LinePeer next_session();
  // Accepts the relay's next connection to a scheduler the test plays.
  LinePeer accept_relay_at(Listener& scheduler_listener);
  // Sends one line and returns the one answer (empty string on timeout).
  std::string ask(LinePeer& session, const std::string& line);
  // The args.resp payload of an answer; fails the test if it has none.
  boost::json::value payload(const std::string& answer);
  // The relay error reason of an answer, or "" if it is not one.
  std::string relay_error(const std::string& answer);
  // A number in a payload.
  static std::int64_t field(const boost::json::value& payload, const char* name) {
    return payload.at(name).to_number<std::int64_t>();
  }

  TempDir dir;
  std::string scheduler_socket = dir / "stats";
  std::string port_socket = dir / "port";
  Listener port{port_socket};
  std::optional<Process> scheduler;
  std::optional<Process> relay;
};

}  // namespace ktstats::test
