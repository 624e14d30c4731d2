// The scraper against scripted peers: serve's control socket (a status
// line) and a VM's socket whose every answer the test writes, so the
// requests of each fetch, the error kinds and the connection's fate are
// seen line by line.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include "line_peer.hpp"
#include "metrics/scraper.hpp"
#include "process.hpp"
#include "serve/serve_status.hpp"

namespace ktstats::metrics {
namespace {

using namespace std::chrono_literals;

constexpr const char* kMetaAnswer =
    R"({"errno":0,"args":{"resp":{"Top":{"name":"Top","top":null,"fields":{"n":{"datum":"u64"},"k":{"datum":"u64"}},"user":{}}}}})";
constexpr const char* kStatsAnswer = R"({"errno":0,"args":{"resp":{"n":7}}})";
// The scheduler restarted with a schema whose keys are a subset of the old one's.
constexpr const char* kOtherMetaAnswer =
    R"({"errno":0,"args":{"resp":{"Top":{"name":"Top","top":null,"fields":{"n":{"datum":"u64"}},"user":{"_om_prefix":"new_"}}}}})";
constexpr const char* kOtherStatsAnswer = R"({"errno":0,"args":{"resp":{"n":8}}})";
constexpr const char* kErrorAnswer = R"({"errno":111,"args":{"resp":"vm1: the VM's port refused"}})";
constexpr const char* kOversizeAnswer = R"({"errno":90,"args":{"resp":"vm1: the answer was longer than 262144 bytes"}})";

// serve's control socket: each connection gets the current status line.
class FakeControl {
 public:
  explicit FakeControl(std::string path) : listener_(std::move(path)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        auto fd = listener_.accept(100ms);
        if (!fd) continue;
        test::LinePeer peer(std::move(fd));
        std::lock_guard lock(mutex_);
        peer.send_line(serve::encode_status(status_));
      }
    });
  }
  ~FakeControl() {
    stop_ = true;
    thread_.join();
  }
  void set_vms(std::vector<serve::VmStatus> vms) {
    std::lock_guard lock(mutex_);
    status_.vms = std::move(vms);
  }
  const std::string& path() const { return listener_.path(); }

 private:
  test::Listener listener_;
  std::mutex mutex_;
  serve::ServeStatus status_{"0.2.0", 1, {}};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class Scraping : public ::testing::Test {
 protected:
  void SetUp() override {
    control.emplace(dir / "control");
    vm_listener.emplace(dir / "vm1.sock");
    serve::VmStatus vm;
    vm.name = "vm1";
    vm.socket = dir / "vm1.sock";
    vm.state = serve::LinkState::kConnected;
    control->set_vms({vm});
    scraper.emplace(io, ScraperOptions{control->path(), 5s});
    thread = std::thread([this] { io.run(); });
  }
  void TearDown() override {
    boost::asio::post(io, [this] {
      scraper->stop();
      work.reset();
    });
    thread.join();
  }

  std::future<ScrapeResult> scrape(std::optional<std::chrono::milliseconds> budget = std::nullopt) {
    auto promise = std::make_shared<std::promise<ScrapeResult>>();
    auto future = promise->get_future();
    boost::asio::post(io, [this, promise, budget] {
      scraper->scrape(budget, [promise](ScrapeResult result) { promise->set_value(std::move(result)); });
    });
    return future;
  }

  static std::optional<ScrapeError> outcome(std::future<ScrapeResult>& future) {
    EXPECT_EQ(future.wait_for(10s), std::future_status::ready);
    auto result = future.get();
    EXPECT_TRUE(result && result->size() == 1);
    return result && !result->empty() ? result->front().error : std::optional(ScrapeError::kProtocol);
  }

  test::TempDir dir;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::optional<FakeControl> control;
  std::optional<test::Listener> vm_listener;
  std::optional<Scraper> scraper;
  std::thread thread;
};

bool asks(test::LinePeer& peer, const std::string& verb) {
  const auto line = peer.read_line(5s);
  return line && line->find("\"req\":\"" + verb + "\"") != std::string::npos;
}

// Both requests of a fetch, in one write: stats_meta, then stats.
bool asks_both(test::LinePeer& peer) { return asks(peer, "stats_meta") && asks(peer, "stats"); }

TEST_F(Scraping, EveryScrapeAsksTheSchemaAndTheStatsOnTheKeptConnection) {
  auto first = scrape();
  test::LinePeer vm(vm_listener->accept(5s));
  ASSERT_TRUE(asks_both(vm));
  vm.send_line(kMetaAnswer);
  vm.send_line(kStatsAnswer);
  EXPECT_EQ(outcome(first), std::nullopt);

  // Same connection, both again: a scheduler restarted behind the relay
  // with a schema whose keys are a subset of the old one's (stats that
  // the old schema would still take) shows in the very next scrape.
  auto second = scrape();
  ASSERT_TRUE(asks_both(vm));
  vm.send_line(kOtherMetaAnswer);
  vm.send_line(kOtherStatsAnswer);
  ASSERT_EQ(second.wait_for(10s), std::future_status::ready);
  const auto result = second.get();
  ASSERT_TRUE(result && result->size() == 1);
  ASSERT_EQ(result->front().error, std::nullopt);
  ASSERT_TRUE(result->front().root);
  EXPECT_TRUE(result->front().root->field("n"));
  EXPECT_FALSE(result->front().root->field("k"));

  // An error answer to either: error_answer, the connection kept in step.
  auto third = scrape();
  ASSERT_TRUE(asks_both(vm));
  vm.send_line(kMetaAnswer);
  vm.send_line(kErrorAnswer);
  EXPECT_EQ(outcome(third), ScrapeError::kErrorAnswer);
  auto fourth = scrape();
  ASSERT_TRUE(asks_both(vm));
  vm.send_line(kMetaAnswer);
  vm.send_line(kStatsAnswer);
  EXPECT_EQ(outcome(fourth), std::nullopt);

  // serve's or the relay's answer over its line cap (EMSGSIZE): oversize,
  // the connection kept.
  auto oversize_answer = scrape();
  ASSERT_TRUE(asks_both(vm));
  vm.send_line(kMetaAnswer);
  vm.send_line(kOversizeAnswer);
  EXPECT_EQ(outcome(oversize_answer), ScrapeError::kOversize);

  // An answer over the line cap: oversize, and the connection is closed.
  auto fifth = scrape();
  ASSERT_TRUE(asks_both(vm));
  vm.write(std::string(300 * 1024, 'x'));
  EXPECT_EQ(outcome(fifth), ScrapeError::kOversize);
  EXPECT_TRUE(vm.closed_within(5s));

  // The next scrape connects again; an answer that is not JSON closes it.
  auto sixth = scrape();
  test::LinePeer again(vm_listener->accept(5s));
  ASSERT_TRUE(asks_both(again));
  again.send_line("not json");
  again.send_line(kStatsAnswer);
  EXPECT_EQ(outcome(sixth), ScrapeError::kProtocol);
  EXPECT_TRUE(again.closed_within(5s));
}

TEST_F(Scraping, AKeptConnectionServeClosedIsConnectedAgainWithinTheSameScrape) {
  auto first = scrape();
  std::optional<test::LinePeer> vm(vm_listener->accept(5s));
  ASSERT_TRUE(asks_both(*vm));
  vm->send_line(kMetaAnswer);
  vm->send_line(kStatsAnswer);
  EXPECT_EQ(outcome(first), std::nullopt);

  // serve closed the idle connection (the VM removed and added again):
  // the scrape connects again and gets the stats.
  vm.reset();
  auto second = scrape();
  std::optional<test::LinePeer> again(vm_listener->accept(5s));
  ASSERT_TRUE(asks_both(*again));
  again->send_line(kMetaAnswer);
  again->send_line(kStatsAnswer);
  EXPECT_EQ(outcome(second), std::nullopt);

  // Once only: the new connection closed too before answering is unreachable.
  again.reset();
  auto third = scrape();
  test::LinePeer refused(vm_listener->accept(5s));
  ASSERT_TRUE(asks_both(refused));
  refused.close();
  EXPECT_EQ(outcome(third), ScrapeError::kUnreachable);
}

TEST_F(Scraping, AScrapeJoiningAFetchInFlightIsBoundedByItsOwnBudget) {
  // A long budget starts the fetch; a short one joins it and is answered
  // as a timeout at its own deadline, the fetch going on for the first.
  auto patient = scrape();
  test::LinePeer vm(vm_listener->accept(5s));
  ASSERT_TRUE(asks_both(vm));
  auto hurried = scrape(300ms);
  EXPECT_EQ(hurried.wait_for(3s), std::future_status::ready);
  EXPECT_EQ(outcome(hurried), ScrapeError::kTimeout);
  EXPECT_EQ(patient.wait_for(0s), std::future_status::timeout);
  vm.send_line(kMetaAnswer);
  vm.send_line(kStatsAnswer);
  EXPECT_EQ(outcome(patient), std::nullopt);

  // A short budget starts the fetch; a long one joins it (well within the
  // short one's budget, even on a loaded machine) and gets the answer
  // after the first's deadline passed.
  auto short_first = scrape(1500ms);
  ASSERT_TRUE(asks_both(vm));
  auto long_second = scrape();
  EXPECT_EQ(outcome(short_first), ScrapeError::kTimeout);
  vm.send_line(kMetaAnswer);
  vm.send_line(kStatsAnswer);
  EXPECT_EQ(outcome(long_second), std::nullopt);
}

TEST_F(Scraping, AScrapeJoiningAStatusReadInFlightIsBoundedByItsOwnBudget) {
  // A control socket that takes the connection (its backlog does) and
  // never answers.
  test::Listener silent(dir / "silent-control");
  std::optional<Scraper> stalled;
  boost::asio::post(io, [&] { stalled.emplace(io, ScraperOptions{silent.path(), 2s}); });
  auto on_stalled = [&](std::optional<std::chrono::milliseconds> budget) {
    auto promise = std::make_shared<std::promise<ScrapeResult>>();
    auto future = promise->get_future();
    boost::asio::post(io, [&stalled, promise, budget] {
      stalled->scrape(budget, [promise](ScrapeResult result) { promise->set_value(std::move(result)); });
    });
    return future;
  };
  auto patient = on_stalled(std::nullopt);
  auto hurried = on_stalled(300ms);
  EXPECT_EQ(hurried.wait_for(1500ms), std::future_status::ready);
  EXPECT_EQ(patient.wait_for(0s), std::future_status::timeout);
  EXPECT_EQ(patient.wait_for(10s), std::future_status::ready);
  std::promise<void> stopped;
  boost::asio::post(io, [&] {
    stalled.reset();
    stopped.set_value();
  });
  stopped.get_future().wait();
}

TEST_F(Scraping, AVmGoneFromServesStatusHasItsConnectionClosed) {
  auto first = scrape();
  test::LinePeer vm(vm_listener->accept(5s));
  ASSERT_TRUE(asks(vm, "stats_meta"));
  vm.send_line(kMetaAnswer);
  ASSERT_TRUE(asks(vm, "stats"));
  vm.send_line(kStatsAnswer);
  EXPECT_EQ(outcome(first), std::nullopt);
  control->set_vms({});
  auto second = scrape();
  ASSERT_EQ(second.wait_for(10s), std::future_status::ready);
  const auto result = second.get();
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->empty());
  EXPECT_TRUE(vm.closed_within(5s));
}

}  // namespace
}  // namespace ktstats::metrics
