#include "relay_fixture.hpp"

#include <csignal>

#include <boost/json/parse.hpp>

#include "ktstats/json_line.hpp"
#include "ktstats/relay_line.hpp"
#include "wire/response.hpp"

namespace ktstats::test {

void RelayFixture::start_scheduler(std::vector<std::string> extra) {
  std::vector<std::string> argv{program("KTSTATS_FAKE_SCHEDULER", KTSTATS_FAKE_SCHEDULER), "--socket", scheduler_socket};
  argv.insert(argv.end(), extra.begin(), extra.end());
  scheduler.emplace(Process::spawn(argv));
  auto ready = scheduler->read_line();
  ASSERT_TRUE(ready.has_value()) << scheduler->stderr_text();
  ASSERT_EQ(ready->rfind("ready", 0), 0u);
}

void RelayFixture::stop_scheduler() {
  scheduler->signal(SIGKILL);
  ASSERT_TRUE(scheduler->wait().has_value());
  scheduler.reset();
}

void RelayFixture::start_relay(std::vector<std::string> extra) {
  std::vector<std::string> argv{program("KTSTATS_RELAY", KTSTATS_RELAY), "--port", port_socket, "--socket",
                                scheduler_socket};
  argv.insert(argv.end(), extra.begin(), extra.end());
  relay.emplace(Process::spawn(argv));
}

LinePeer RelayFixture::next_session() {
  auto fd = port.accept();
  EXPECT_TRUE(fd.valid()) << "relay did not connect; its stderr:\n"
                          << (relay ? relay->stderr_text() : "");
  return LinePeer(std::move(fd));
}

LinePeer RelayFixture::accept_relay_at(Listener& scheduler_listener) {
  auto fd = scheduler_listener.accept();
  EXPECT_TRUE(fd.valid()) << "the relay did not connect to the scheduler: "
                          << (relay ? relay->stderr_text() : "");
  return LinePeer(std::move(fd));
}

std::string RelayFixture::ask(LinePeer& session, const std::string& line) {
  EXPECT_TRUE(session.send_line(line));
  auto answer = session.read_line();
  EXPECT_TRUE(answer.has_value()) << "no answer to " << line;
  return answer.value_or("");
}

boost::json::value RelayFixture::payload(const std::string& answer) {
  auto resp = decode_resp_payload(answer);
  EXPECT_TRUE(resp.ok()) << (resp.ok() ? "" : describe(resp.error())) << " in " << answer;
  return resp.ok() ? *resp : boost::json::value();
}

std::string RelayFixture::relay_error(const std::string& answer) {
  auto parsed = parse_json_line(answer);
  if (!parsed) return "";
  return relay_error_reason(*parsed).value_or("");
}

}  // namespace ktstats::test
