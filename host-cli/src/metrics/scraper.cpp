#include "metrics/scraper.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/value.hpp>
#include <spdlog/spdlog.h>

#include "ktstats/limits.hpp"
#include "ktstats/terminal_text.hpp"
#include "render/render.hpp"
#include "render/stats_meta.hpp"
#include "serve/serve_status.hpp"
#include "wire/request.hpp"
#include "wire/response.hpp"

namespace ktstats::metrics {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using UnixSocket = asio::local::stream_protocol::socket;
using std::chrono::milliseconds;

// serve's status line: 4,096 VMs of a few hundred bytes each fit well.
constexpr std::size_t kMaxStatusBytes = 16 << 20;

std::string request_line(std::string verb) {
  // Fixed verbs, no args: encoding cannot fail.
  auto line = encode_request(Request{std::move(verb), {}});
  return (line ? *line : std::string()) + "\n";
}

// An error answer's kind: serve answers EMSGSIZE for an answer over its
// line cap or the relay's, the same fault as a line over the scraper's.
ScrapeError error_answer_kind(std::string_view line) {
  const auto response = decode_response(line);
  return response && response->errno_value == EMSGSIZE ? ScrapeError::kOversize : ScrapeError::kErrorAnswer;
}

// What one fetch of a VM got, handed to every scrape that waited for it.
struct Fetched {
  std::optional<ScrapeError> error;
  std::shared_ptr<const boost::json::value> payload;
  std::shared_ptr<const cli::StatsMeta> meta;
  const cli::StructMeta* root = nullptr;
  double seconds = 0;
  ErrorCounts errors_total{};
};

// One VM: a persistent connection to serve's socket for it, carrying one
// fetch at a time. Every handler checks `attempt_`: a fetch that ended
// (answered, timed out, dropped) leaves its handlers stale. Each scrape
// waiting for the fetch has its own deadline: one whose deadline passes is
// answered alone as a timeout while the fetch goes on for the others; the
// fetch ends as a timeout when the last one's (the latest) passes.
class VmLink : public std::enable_shared_from_this<VmLink> {
 public:
  using Waiter = std::function<void(const Fetched&)>;

  VmLink(asio::io_context& io, std::string name, std::string socket_path)
      : name_(std::move(name)), socket_path_(std::move(socket_path)), socket_(io) {}

  const std::string& socket_path() const { return socket_path_; }

  // Joins the fetch in flight, or starts one; answers `waiter` by `deadline`.
  void fetch(Clock::time_point deadline, Waiter waiter) {
    const auto id = next_waiter_++;
    auto& waiting = waiters_[id];
    waiting.answer = std::move(waiter);
    waiting.arrived = Clock::now();
    waiting.timer = std::make_unique<asio::steady_timer>(socket_.get_executor(), deadline);
    waiting.timer->async_wait([self = shared_from_this(), id](const boost::system::error_code& ec) {
      if (!ec) self->expire(id);
    });
    if (in_flight_) return;
    in_flight_ = true;
    ++attempt_;
    may_reconnect_ = socket_.is_open();
    if (!may_reconnect_) return connect();
    ask();
  }

  // The VM is gone from serve (or the exporter stops): its connection is
  // closed and a fetch in flight ends as unreachable.
  void drop(bool answer_waiters) {
    if (!answer_waiters) waiters_.clear();
    if (in_flight_) {
      fail(ScrapeError::kUnreachable, true);
    } else {
      close();
    }
  }

 private:
  struct Waiting {
    Waiter answer;
    Clock::time_point arrived;  // its duration is its own wait
    std::unique_ptr<asio::steady_timer> timer;
  };

  void connect() {
    asio::local::stream_protocol::endpoint endpoint;
    try {
      endpoint = asio::local::stream_protocol::endpoint(socket_path_);
    } catch (const boost::system::system_error&) {
      return fail(ScrapeError::kUnreachable, true);  // a path too long for a socket address
    }
    socket_.async_connect(endpoint, [self = shared_from_this(), attempt = attempt_](
                                        const boost::system::error_code& ec) {
      if (attempt != self->attempt_) return;
      if (ec) return self->fail(ScrapeError::kUnreachable, true);
      self->ask();
    });
  }

  // stats_meta and stats in one write, their answers read in order: one
  // round trip, and the schema is always the one of the scheduler that
  // answers the stats (a scheduler restarted behind the relay is invisible
  // to a client otherwise).
  void ask() {
    auto output = std::make_shared<const std::string>(request_line("stats_meta") + request_line("stats"));
    asio::async_write(socket_, asio::buffer(*output),
                      [self = shared_from_this(), attempt = attempt_, output](const boost::system::error_code& ec,
                                                                                std::size_t) {
                        if (attempt != self->attempt_) return;
                        if (ec) return self->broke();
                        self->read_line([self](std::string meta_line) {
                          self->read_line([self, meta_line = std::move(meta_line)](std::string stats_line) {
                            self->take(meta_line, stats_line);
                          });
                        });
                      });
  }

  template <typename OnLine>
  void read_line(OnLine on_line) {
    // The buffer is the connection's: an operation ended by a close still
    // resizes its own buffer when it completes, never the next connection's.
    asio::async_read_until(
        socket_, asio::dynamic_buffer(*input_, kMaxLineBytes), '\n',
        [self = shared_from_this(), attempt = attempt_, on_line = std::move(on_line), input = input_](
            const boost::system::error_code& ec, std::size_t size) mutable {
          if (attempt != self->attempt_) return;
          if (ec == asio::error::not_found) return self->fail(ScrapeError::kOversize, true);
          if (ec && input->empty()) return self->broke();
          if (ec) return self->fail(ScrapeError::kUnreachable, true);
          self->may_reconnect_ = false;  // an answer began: the connection was not stale
          std::string line = input->substr(0, size - 1);
          input->erase(0, size);
          on_line(std::move(line));
        });
  }

  // A waiter's deadline passed: the last one waiting ends the fetch; an
  // earlier one is answered alone.
  void expire(std::uint64_t id) {
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return;
    if (waiters_.size() == 1) return fail(ScrapeError::kTimeout, true);
    Waiting waiting = std::move(it->second);
    waiters_.erase(it);
    ++errors_total_[static_cast<std::size_t>(ScrapeError::kTimeout)];
    Fetched fetched;
    fetched.error = ScrapeError::kTimeout;
    answer(waiting, fetched);
  }

  void answer(Waiting& waiting, Fetched& fetched) const {
    fetched.seconds = std::chrono::duration<double>(Clock::now() - waiting.arrived).count();
    fetched.errors_total = errors_total_;
    waiting.answer(fetched);
  }

  // The connection broke before any byte of an answer. A kept one may just
  // be stale (serve closed it meanwhile: the VM removed and added again,
  // its QEMU restarted, too many clients): connected again once, within
  // the same fetch. A new one is unreachable.
  void broke() {
    if (!may_reconnect_) return fail(ScrapeError::kUnreachable, true);
    may_reconnect_ = false;
    close();
    connect();
  }

  // Both answers are read before either is judged: the connection stays
  // in step after an error answer.
  void take(std::string_view meta_line, std::string_view stats_line) {
    if (is_error_answer(meta_line)) return fail(error_answer_kind(meta_line), false);
    if (is_error_answer(stats_line)) return fail(error_answer_kind(stats_line), false);
    auto meta_payload = decode_resp_payload(meta_line);
    if (!meta_payload) return fail(ScrapeError::kProtocol, true);
    auto meta = cli::parse_stats_meta(*meta_payload);
    if (!meta || !meta->top()) {
      spdlog::warn("metrics: {}: stats_meta is not a schema with a top struct", escape_for_terminal(name_, 100));
      return fail(ScrapeError::kProtocol, true);
    }
    auto payload = decode_resp_payload(stats_line);
    if (!payload) return fail(ScrapeError::kProtocol, true);
    auto shared_meta = std::make_shared<const cli::StatsMeta>(std::move(*meta));
    Fetched fetched;
    fetched.root = *shared_meta->top();
    fetched.meta = std::move(shared_meta);
    fetched.payload = std::make_shared<const boost::json::value>(std::move(*payload));
    finish(std::move(fetched));
  }

  // An error answer leaves the connection sound. Any other failure leaves
  // the stream in an unknown state: the connection is closed, and the next
  // fetch connects again.
  void fail(ScrapeError error, bool close_connection) {
    if (close_connection) close();
    ++errors_total_[static_cast<std::size_t>(error)];
    Fetched fetched;
    fetched.error = error;
    finish(std::move(fetched));
  }

  void finish(Fetched fetched) {
    in_flight_ = false;
    ++attempt_;
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& [id, waiting] : waiters) answer(waiting, fetched);
  }

  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    input_ = std::make_shared<std::string>();
  }

  std::string name_;
  std::string socket_path_;
  UnixSocket socket_;
  std::shared_ptr<std::string> input_ = std::make_shared<std::string>();
  bool in_flight_ = false;
  bool may_reconnect_ = false;
  std::uint64_t attempt_ = 0;
  // Waiters by arrival; ids are never reused, so a stale timer finds none.
  std::map<std::uint64_t, Waiting> waiters_;
  std::uint64_t next_waiter_ = 0;
  ErrorCounts errors_total_{};
};

// One read of serve's control socket, shared by every caller that asks
// while it is in flight. Each caller has its own deadline: one whose
// deadline passes is answered alone (nothing), the read going on for the
// others; the read ends when the last one's (the latest) passes.
class StatusReader : public std::enable_shared_from_this<StatusReader> {
 public:
  using Waiter = std::function<void(std::optional<serve::ServeStatus>)>;

  StatusReader(asio::io_context& io, std::string path) : path_(std::move(path)), socket_(io) {}

  void read(Clock::time_point deadline, Waiter waiter) {
    const auto id = next_waiter_++;
    auto& waiting = waiters_[id];
    waiting.answer = std::move(waiter);
    waiting.timer = std::make_unique<asio::steady_timer>(socket_.get_executor(), deadline);
    waiting.timer->async_wait([self = shared_from_this(), id](const boost::system::error_code& ec) {
      if (!ec) self->expire(id);
    });
    if (in_flight_) return;
    in_flight_ = true;
    const auto attempt = ++attempt_;
    auto input = std::make_shared<std::string>();  // this read's own (see VmLink::read_line)
    asio::local::stream_protocol::endpoint endpoint;
    try {
      endpoint = asio::local::stream_protocol::endpoint(path_);
    } catch (const boost::system::system_error& error) {
      return finish(std::nullopt, error.code().message());
    }
    socket_.async_connect(endpoint, [self = shared_from_this(), attempt,
                                     input](const boost::system::error_code& ec) {
      if (attempt != self->attempt_) return;
      if (ec) return self->finish(std::nullopt, ec.message());
      asio::async_read_until(
          self->socket_, asio::dynamic_buffer(*input, kMaxStatusBytes), '\n',
          [self, attempt, input](const boost::system::error_code& read_error, std::size_t size) {
            if (attempt != self->attempt_) return;
            if (read_error) return self->finish(std::nullopt, read_error.message());
            auto status = serve::decode_status(std::string_view(*input).substr(0, size - 1));
            if (!status) return self->finish(std::nullopt, describe(status.error()));
            self->finish(std::move(*status), "");
          });
    });
  }

  void stop() {
    waiters_.clear();
    ++attempt_;
    in_flight_ = false;
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  struct Waiting {
    Waiter answer;
    std::unique_ptr<asio::steady_timer> timer;
  };

  void expire(std::uint64_t id) {
    auto it = waiters_.find(id);
    if (it == waiters_.end()) return;
    if (waiters_.size() == 1) return finish(std::nullopt, "no answer in time");
    Waiting waiting = std::move(it->second);
    waiters_.erase(it);
    spdlog::warn("metrics: serve's status from {}: no answer in time", escape_for_terminal(path_, 300));
    waiting.answer(std::nullopt);
  }

  void finish(std::optional<serve::ServeStatus> status, const std::string& why) {
    if (!status) spdlog::warn("metrics: serve's status from {}: {}", escape_for_terminal(path_, 300), why);
    in_flight_ = false;
    ++attempt_;
    boost::system::error_code ignored;
    socket_.close(ignored);
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& [id, waiting] : waiters) waiting.answer(status);
  }

  std::string path_;
  UnixSocket socket_;
  bool in_flight_ = false;
  std::uint64_t attempt_ = 0;
  std::map<std::uint64_t, Waiting> waiters_;  // ids never reused: a stale timer finds none
  std::uint64_t next_waiter_ = 0;
};

}  // namespace

class Scraper::Impl : public std::enable_shared_from_this<Scraper::Impl> {
 public:
  Impl(asio::io_context& io, ScraperOptions options)
      : io_(io), options_(std::move(options)),
        status_(std::make_shared<StatusReader>(io, options_.control_socket)) {}

  void scrape(std::optional<milliseconds> budget, std::function<void(ScrapeResult)> done) {
    if (stopped_) return;
    const milliseconds limit = budget ? std::min(options_.timeout, *budget) : options_.timeout;
    const auto deadline = Clock::now() + limit;
    status_->read(deadline, [self = shared_from_this(), deadline,
                          done = std::move(done)](std::optional<serve::ServeStatus> status) mutable {
      if (!status) return done(std::nullopt);
      self->fetch_all(std::move(status->vms), deadline, std::move(done));
    });
  }

  void status(std::function<void(StatusResult)> done) {
    if (stopped_) return;
    status_->read(Clock::now() + options_.timeout, [done = std::move(done)](std::optional<serve::ServeStatus> status) {
      if (!status) return done(std::nullopt);
      std::vector<VmRow> rows;
      for (const auto& vm : status->vms) {
        rows.push_back({vm.name, std::string(serve::state_name(vm.state)), vm.relay_version});
      }
      done(std::move(rows));
    });
  }

  void stop() {
    stopped_ = true;
    status_->stop();
    for (auto& [name, link] : links_) link->drop(false);
    links_.clear();
  }

 private:
  struct Gather {
    std::vector<VmOutcome> outcomes;
    std::size_t remaining = 0;
    std::function<void(ScrapeResult)> done;
  };

  void fetch_all(std::vector<serve::VmStatus> vms, Clock::time_point deadline,
                 std::function<void(ScrapeResult)> done) {
    if (stopped_) return;
    if (vms.size() > options_.max_vms) {
      if (!warned_max_vms_) {
        spdlog::warn("metrics: serve has {} VMs: the first {} are scraped", vms.size(), options_.max_vms);
        warned_max_vms_ = true;
      }
      vms.resize(options_.max_vms);
    }
    keep_only(vms);
    auto gather = std::make_shared<Gather>();
    gather->done = std::move(done);
    gather->remaining = vms.size();
    gather->outcomes.resize(vms.size());
    if (vms.empty()) return gather->done(std::move(gather->outcomes));
    for (std::size_t i = 0; i < vms.size(); ++i) {
      auto& outcome = gather->outcomes[i];
      outcome.name = vms[i].name;
      outcome.state = serve::state_name(vms[i].state);
      outcome.relay_version = vms[i].relay_version;
      link_for(vms[i])->fetch(deadline, [gather, i](const Fetched& fetched) {
        auto& outcome = gather->outcomes[i];
        outcome.error = fetched.error;
        outcome.payload = fetched.payload;
        outcome.meta = fetched.meta;
        outcome.root = fetched.root;
        outcome.duration_seconds = fetched.seconds;
        outcome.errors_total = fetched.errors_total;
        if (--gather->remaining == 0) gather->done(std::move(gather->outcomes));
      });
    }
  }

  // The VMs no longer in serve's status: their connections closed, their
  // links dropped.
  void keep_only(const std::vector<serve::VmStatus>& vms) {
    std::set<std::string, std::less<>> names;
    for (const auto& vm : vms) names.insert(vm.name);
    for (auto it = links_.begin(); it != links_.end();) {
      if (names.contains(it->first)) {
        ++it;
        continue;
      }
      it->second->drop(true);
      it = links_.erase(it);
    }
  }

  std::shared_ptr<VmLink> link_for(const serve::VmStatus& vm) {
    auto& link = links_[vm.name];
    // A VM served again at another socket is a new VM.
    if (link && link->socket_path() != vm.socket) {
      link->drop(true);
      link.reset();
    }
    if (!link) link = std::make_shared<VmLink>(io_, vm.name, vm.socket);
    return link;
  }

  asio::io_context& io_;
  ScraperOptions options_;
  std::shared_ptr<StatusReader> status_;
  std::map<std::string, std::shared_ptr<VmLink>, std::less<>> links_;
  bool stopped_ = false;
  bool warned_max_vms_ = false;
};

Scraper::Scraper(asio::io_context& io, ScraperOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

Scraper::~Scraper() { impl_->stop(); }

void Scraper::scrape(std::optional<milliseconds> budget, std::function<void(ScrapeResult)> done) {
  impl_->scrape(budget, std::move(done));
}

void Scraper::status(std::function<void(StatusResult)> done) { impl_->status(std::move(done)); }

void Scraper::stop() { impl_->stop(); }

}  // namespace ktstats::metrics
