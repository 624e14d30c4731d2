// `ktstats serve --metrics-listen` as a real process in front of VMs, each
// behind ktstats-relay and a stand-in VMM with the fake scheduler: the
// page's families and labels, one guest session kept across scrapes with
// its schema and stats asked per scrape, a VM whose relay stopped, concurrent fetches of slow
// VMs, content negotiation and a crowd of concurrent scrapers.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "serve/serve_harness.hpp"

namespace ktstats::test {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct HttpAnswer {
  int status = 0;
  std::string headers;  // lower-cased
  std::string body;
};

// One request on a connection of its own (Connection: close), read to its
// end within the timeout; status 0 when that failed.
HttpAnswer http_get(int port, const std::string& path, const std::string& accept = "",
                    std::chrono::milliseconds timeout = 20s) {
  HttpAnswer answer;
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) return answer;
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!accept.empty()) request += "Accept: " + accept + "\r\n";
  request += "\r\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    return answer;
  }
  std::string text;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd waiting{fd.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&waiting, 1, static_cast<int>(left.count())) <= 0) return answer;
    char buffer[65536];
    const ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return answer;
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  const auto end = text.find("\r\n\r\n");
  if (text.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return answer;
  answer.status = std::stoi(text.substr(9, 3));
  answer.headers = text.substr(0, end);
  for (auto& c : answer.headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  answer.body = text.substr(end + 4);
  return answer;
}

// The value of a sample line NAME{LABELS} VALUE, or nullopt when absent.
std::optional<std::string> sample(const std::string& body, const std::string& series) {
  const auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return std::nullopt;
  const auto start = at + series.size() + 2;
  return body.substr(start, body.find('\n', start) - start);
}

// The port of serve's "metrics: listening on http://127.0.0.1:PORT".
int listening_port(const Process& serve) {
  if (!serve.wait_for_stderr("metrics: listening on", 30s)) return 0;
  std::smatch match;
  const std::string text = serve.stderr_text();
  static const std::regex kLine(R"(metrics: listening on http://127\.0\.0\.1:(\d+))");
  return std::regex_search(text, match, kLine) ? std::stoi(match[1]) : 0;
}

// Fake schedulers behind relays, one per VM, and serve with /metrics.
class Exporter : public ::testing::Test {
 protected:
  void start(std::size_t count, const std::vector<std::string>& scheduler_extra = {},
             const std::vector<std::string>& serve_extra = {}) {
    for (std::size_t i = 1; i <= count; ++i) {
      auto vm = std::make_unique<ServedVm>(dir, "vm" + std::to_string(i));
      std::vector<std::string> argv{program("KTSTATS_FAKE_SCHEDULER", KTSTATS_FAKE_SCHEDULER), "--socket",
                                    vm->scheduler_socket, "--announce"};
      argv.insert(argv.end(), scheduler_extra.begin(), scheduler_extra.end());
      vm->scheduler.emplace(Process::spawn(argv));
      const auto ready = vm->scheduler->read_line();
      ASSERT_TRUE(ready && ready->rfind("ready", 0) == 0) << vm->scheduler->stderr_text();
      vm->start_port();
      vms.push_back(std::move(vm));
    }
    std::vector<const ServedVm*> served;
    for (const auto& vm : vms) served.push_back(vm.get());
    std::vector<std::string> extra{"--metrics-listen", "127.0.0.1:0"};
    extra.insert(extra.end(), serve_extra.begin(), serve_extra.end());
    serve.emplace(dir, served, extra);
    ASSERT_TRUE(serve->started) << serve->process->stderr_text();
    port = listening_port(*serve->process);
    ASSERT_NE(port, 0) << serve->process->stderr_text();
  }

  // The requests vm's scheduler has announced so far.
  std::vector<std::string> requests_of(ServedVm& vm) {
    std::vector<std::string> requests;
    while (auto line = vm.scheduler->read_line(200ms)) requests.push_back(*line);
    return requests;
  }

  TempDir dir;
  std::vector<std::unique_ptr<ServedVm>> vms;
  std::optional<ServeProcess> serve;
  int port = 0;
};

TEST_F(Exporter, EveryVmUpWithItsStatsLabelledOneSessionKeptItsSchemaAskedPerScrape) {
  ASSERT_NO_FATAL_FAILURE(start(2));
  std::vector<std::string> requests;
  for (int scrape = 1; scrape <= 3; ++scrape) {
    const auto page = http_get(port, "/metrics");
    ASSERT_EQ(page.status, 200) << page.body << serve->process->stderr_text();
    EXPECT_NE(page.headers.find("content-type: text/plain; version=0.0.4; charset=utf-8"), std::string::npos)
        << page.headers;
    EXPECT_EQ(sample(page.body, R"(ktstats_up{vm="vm1"})"), "1") << page.body;
    EXPECT_EQ(sample(page.body, R"(ktstats_up{vm="vm2"})"), "1") << page.body;
    EXPECT_EQ(sample(page.body, R"(fake_nr_cpus{vm="vm1"})"), "4") << page.body;
    EXPECT_EQ(sample(page.body, R"(fake_layer_nr_tasks{vm="vm2",layer_name="interactive"})"), "7") << page.body;
    EXPECT_TRUE(sample(page.body, R"(ktstats_scrape_duration_seconds{vm="vm1"})")) << page.body;
    EXPECT_EQ(sample(page.body, R"(ktstats_scrape_errors_total{vm="vm1",kind="timeout"})"), "0") << page.body;
    // One session across scrapes: its reads count up on the scheduler's connection.
    EXPECT_EQ(sample(page.body, R"(fake_session_reads{vm="vm1"})"), std::to_string(scrape)) << page.body;
    EXPECT_EQ(sample(page.body, R"(fake_requests_delta{vm="vm1"})").has_value(), true) << page.body;
  }
  std::size_t metas = 0, stats = 0;
  for (const auto& line : requests_of(*vms[0])) {
    metas += line.find(R"("req":"stats_meta")") != std::string::npos;
    stats += line.find(R"("req":"stats")") != std::string::npos;
  }
  EXPECT_EQ(metas, 3U);
  EXPECT_EQ(stats, 3U);
  // The relay's version is known once a request went through.
  const auto page = http_get(port, "/metrics");
  EXPECT_NE(page.body.find(R"(ktstats_relay_info{vm="vm1",version=")"), std::string::npos) << page.body;
}

TEST_F(Exporter, AVmWhoseRelayStoppedIsDownAndTheOtherStaysUp) {
  ASSERT_NO_FATAL_FAILURE(start(2, {}, {"--metrics-timeout", "2s"}));
  ASSERT_EQ(sample(http_get(port, "/metrics").body, R"(ktstats_up{vm="vm2"})"), "1");
  vms[1]->relay->signal(SIGKILL);
  ASSERT_TRUE(vms[1]->relay->wait(10s));
  const auto deadline = Clock::now() + 30s;
  HttpAnswer page;
  while (Clock::now() < deadline) {
    page = http_get(port, "/metrics");
    if (sample(page.body, R"(ktstats_up{vm="vm2"})") == "0") break;
  }
  EXPECT_EQ(sample(page.body, R"(ktstats_up{vm="vm2"})"), "0") << page.body;
  EXPECT_EQ(sample(page.body, R"(ktstats_up{vm="vm1"})"), "1") << page.body;
  EXPECT_EQ(sample(page.body, R"(fake_nr_cpus{vm="vm2"})"), std::nullopt) << page.body;
  EXPECT_EQ(sample(page.body, R"(fake_nr_cpus{vm="vm1"})"), "4") << page.body;
}

TEST_F(Exporter, SlowVmsAreFetchedAtOnceNotOneAfterAnother) {
  // 16 VMs answering each request after 20 ms: one after another a scrape
  // would take 320 ms; at once, about 20 ms. Asserted generously (half the
  // sum), the best of three scrapes after the first (which connects).
  ASSERT_NO_FATAL_FAILURE(start(16, {"--fault", "delay:20"}));
  ASSERT_EQ(http_get(port, "/metrics").status, 200);
  auto best = Clock::duration::max();
  for (int i = 0; i < 3; ++i) {
    const auto began = Clock::now();
    const auto page = http_get(port, "/metrics");
    best = std::min(best, Clock::now() - began);
    ASSERT_EQ(page.status, 200);
    for (int vm = 1; vm <= 16; ++vm) {
      EXPECT_EQ(sample(page.body, R"(ktstats_up{vm="vm)" + std::to_string(vm) + "\"}"), "1") << page.body;
    }
  }
  EXPECT_LT(best, 16 * 20ms / 2);
}

TEST_F(Exporter, OpenMetricsWhenAskedIndexAndHealth) {
  ASSERT_NO_FATAL_FAILURE(start(1));
  const auto page = http_get(port, "/metrics", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.headers.find("content-type: application/openmetrics-text; version=1.0.0; charset=utf-8"),
            std::string::npos)
      << page.headers;
  ASSERT_GE(page.body.size(), 6U);
  EXPECT_EQ(page.body.substr(page.body.size() - 6), "# EOF\n");
  EXPECT_EQ(sample(page.body, R"(ktstats_up{vm="vm1"})"), "1") << page.body;

  const auto index = http_get(port, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.headers.find("content-type: text/html"), std::string::npos) << index.headers;
  EXPECT_NE(index.body.find("<a href=\"/metrics\">"), std::string::npos) << index.body;
  EXPECT_NE(index.body.find("<td>vm1</td><td>connected</td>"), std::string::npos) << index.body;

  const auto health = http_get(port, "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
}

TEST_F(Exporter, TwoHundredConcurrentScrapesAreAllAnsweredSharingEachVmsFetch) {
  ASSERT_NO_FATAL_FAILURE(start(2, {"--fault", "delay:50"}));
  ASSERT_EQ(http_get(port, "/metrics").status, 200);
  requests_of(*vms[0]);
  std::atomic<int> good{0};
  std::vector<std::thread> scrapers;
  for (int i = 0; i < 200; ++i) {
    scrapers.emplace_back([this, &good] {
      const auto page = http_get(port, "/metrics", "", 60s);
      if (page.status == 200 && sample(page.body, R"(ktstats_up{vm="vm1"})") == "1" &&
          sample(page.body, R"(ktstats_up{vm="vm2"})") == "1") {
        ++good;
      }
    });
  }
  for (auto& scraper : scrapers) scraper.join();
  EXPECT_EQ(good.load(), 200);
  // Scrapes arriving while a fetch is in flight wait for it: far fewer
  // fetches than scrapes.
  std::size_t stats = 0;
  for (const auto& line : requests_of(*vms[0])) stats += line.find(R"("req":"stats")") != std::string::npos;
  EXPECT_LT(stats, 200U);
  EXPECT_GE(stats, 1U);
}

TEST_F(Exporter, AVmThatNeverAnswersTimesOutAloneAndItsConnectionIsMadeAgain) {
  ASSERT_NO_FATAL_FAILURE(start(2, {}, {"--metrics-timeout", "500ms"}));
  // vm2's scheduler replaced by one that never answers.
  vms[1]->scheduler.reset();
  vms[1]->scheduler.emplace(Process::spawn({program("KTSTATS_FAKE_SCHEDULER", KTSTATS_FAKE_SCHEDULER), "--socket",
                                            vms[1]->scheduler_socket, "--fault", "silent"}));
  ASSERT_TRUE(vms[1]->scheduler->read_line());
  for (int scrape = 1; scrape <= 2; ++scrape) {
    const auto began = Clock::now();
    const auto page = http_get(port, "/metrics");
    const auto took = Clock::now() - began;
    ASSERT_EQ(page.status, 200);
    EXPECT_EQ(sample(page.body, R"(ktstats_up{vm="vm2"})"), "0") << page.body;
    EXPECT_EQ(sample(page.body, R"(ktstats_up{vm="vm1"})"), "1") << page.body;
    EXPECT_EQ(sample(page.body, R"(ktstats_scrape_errors_total{vm="vm2",kind="timeout"})"),
              std::to_string(scrape))
        << page.body;
    EXPECT_LT(took, 5s);
    EXPECT_GE(took, 400ms);
    // vm1 keeps its session: one stream of reads, unaffected by vm2.
    EXPECT_EQ(sample(page.body, R"(fake_session_reads{vm="vm1"})"), std::to_string(scrape)) << page.body;
  }
}

TEST_F(Exporter, ASchedulerRestartedBehindTheRelayIsScrapedAgain) {
  ASSERT_NO_FATAL_FAILURE(start(1));
  ASSERT_EQ(sample(http_get(port, "/metrics").body, R"(ktstats_up{vm="vm1"})"), "1");
  vms[0]->scheduler.reset();  // killed
  vms[0]->scheduler.emplace(Process::spawn(
      {program("KTSTATS_FAKE_SCHEDULER", KTSTATS_FAKE_SCHEDULER), "--socket", vms[0]->scheduler_socket}));
  ASSERT_TRUE(vms[0]->scheduler->read_line());
  // The kept session meets the restart (an error answer, or the relay's
  // session reconnected to the new scheduler); either way a scrape soon
  // gets the new scheduler's stats, on a connection new to it.
  const auto deadline = Clock::now() + 30s;
  HttpAnswer page;
  while (Clock::now() < deadline) {
    page = http_get(port, "/metrics");
    if (sample(page.body, R"(fake_session_reads{vm="vm1"})") == "1") break;
  }
  EXPECT_EQ(sample(page.body, R"(ktstats_up{vm="vm1"})"), "1") << page.body << serve->process->stderr_text();
  EXPECT_EQ(sample(page.body, R"(fake_session_reads{vm="vm1"})"), "1") << page.body;
  EXPECT_EQ(sample(page.body, R"(ktstats_scrape_errors_total{vm="vm1",kind="timeout"})"), "0") << page.body;
}

TEST_F(Exporter, SigtermStopsTheExporterWithServe) {
  ASSERT_NO_FATAL_FAILURE(start(1, {"--fault", "delay:200"}));
  // A scrape in flight when serve is told to stop.
  std::thread scraper([this] { http_get(port, "/metrics", "", 10s); });
  std::this_thread::sleep_for(50ms);  // not synchronisation: either order must end well
  serve->process->signal(SIGTERM);
  const auto status = serve->process->wait(10s);
  scraper.join();
  ASSERT_TRUE(status) << serve->process->stderr_text();
  EXPECT_EQ(*status, 0) << serve->process->stderr_text();
  EXPECT_EQ(http_get(port, "/healthz", "", 2s).status, 0);  // nothing listens
}

TEST_F(Exporter, TheConfigFileCanTurnItOnAndBadSettingsAreRefusedAtStart) {
  ASSERT_NO_FATAL_FAILURE(start(1));
  const auto write = [this](const std::string& name, const std::string& text) {
    const std::string path = dir / name;
    FILE* file = std::fopen(path.c_str(), "w");
    std::fputs(text.c_str(), file);
    std::fclose(file);
    return path;
  };
  const std::string vm = "vmc = \"unix:" + vms[0]->vmm_socket + "\"\n";
  const auto serve_with = [this](const std::vector<std::string>& args) {
    std::vector<std::string> argv{program("KTSTATS", KTSTATS), "serve", "--runtime-dir", dir / "run2"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Process::spawn(argv);
  };
  {
    auto good = serve_with({"--config", write("good.toml", "metrics_listen = \"127.0.0.1:0\"\n[vms]\n" + vm)});
    const int good_port = listening_port(good);
    ASSERT_NE(good_port, 0) << good.stderr_text();
    EXPECT_EQ(http_get(good_port, "/healthz").status, 200);
    good.signal(SIGTERM);
    EXPECT_EQ(good.wait(10s), 0) << good.stderr_text();
  }
  auto bad_key = serve_with({"--config", write("bad.toml", "metrics_listen = \"nowhere\"\n[vms]\n" + vm)});
  EXPECT_EQ(bad_key.wait(20s), 78) << bad_key.stderr_text();
  auto bad_web = serve_with({"--vm", "vmc=unix:" + vms[0]->vmm_socket, "--metrics-listen", "127.0.0.1:0",
                             "--metrics-web-config", dir / "missing.yml"});
  EXPECT_EQ(bad_web.wait(20s), 78) << bad_web.stderr_text();
  auto bad_address = serve_with({"--vm", "vmc=unix:" + vms[0]->vmm_socket, "--metrics-listen", "9477"});
  EXPECT_EQ(bad_address.wait(20s), 64) << bad_address.stderr_text();
}

TEST_F(Exporter, APortInUseStopsServeBeforeItRuns) {
  ASSERT_NO_FATAL_FAILURE(start(1));
  auto second = Process::spawn({program("KTSTATS", KTSTATS), "serve", "--runtime-dir", dir / "run2", "--vm",
                                "vmx=unix:" + (dir / "nowhere.sock"), "--metrics-listen",
                                "127.0.0.1:" + std::to_string(port)});
  const auto status = second.wait(20s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 73) << second.stderr_text();
  EXPECT_NE(second.stderr_text().find("metrics"), std::string::npos) << second.stderr_text();
}

}  // namespace
}  // namespace ktstats::test
