#include "relay.hpp"

#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "io/io_buffer.hpp"
#include "ktstats/stop_signals.hpp"
#include "logger.hpp"

namespace ktstats::relay {
namespace {

// What each watched descriptor is, as the poller reports it.
enum : Poller::Tag {
  kSignalTag,
  kTimerTag,
  kPortTag,
  kPortWaitTag,
  kPortUeventTag,
  kSocketWaitTag,
  kFirstLinkTag,  // + the LinkId
};

// Reads of one source per pump, at most: a host or a scheduler that floods
// cannot starve the others.
constexpr int kReadsPerPump = 16;

std::string_view bytes_read(std::size_t count) { return {io_buffer().data(), count}; }

// Every session may hold a scheduler connection: make room for them under
// the descriptor limit, as far as the hard limit allows.
void make_room_for_links(std::size_t max_sessions) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = std::min<rlim_t>(limit.rlim_max, static_cast<rlim_t>(max_sessions) + 64);
  if (limit.rlim_cur >= wanted) return;
  limit.rlim_cur = wanted;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    logger::warn("cannot raise the descriptor limit to {} for {} sessions", wanted, max_sessions);
  }
}

}  // namespace

// The relay's whole flow, run after every wake-up of the loop. The core
// hears what time it is; connections open and close and bytes are written
// until nothing changes; the port and the scheduler links are read, a
// bounded amount each, and what that produced is settled in turn; then the
// one timer is armed at the earliest deadline and the descriptors to wait
// for are declared. True when the port may still hold bytes the core would
// take now: the port is edge-triggered, so they would raise no new event,
// and the loop comes back without waiting.
bool Relay::pump() {
  const auto now = Clock::now();
  pass_time(now);
  if (unsettled_) settle(now);
  unsettled_ = false;
  read_host(now);
  read_links(now);
  settle(now);
  arm_timer(now);
  watch_all();
  return port_.can_read() && core_.wants_host_input();
}

Result<std::unique_ptr<Relay>> Relay::create(RelayOptions options) {
  auto signals = stop_signal_fd();
  if (!signals) return std::move(signals).error();
  auto poller = Poller::create();
  if (!poller) return std::move(poller).error();
  auto timer = DeadlineTimer::create();
  if (!timer) return std::move(timer).error();
  make_room_for_links(options.limits.max_sessions);
  return std::unique_ptr<Relay>(
      new Relay(std::move(options), std::move(*poller), std::move(*timer), std::move(*signals)));
}

Relay::Relay(RelayOptions options, Poller poller, DeadlineTimer timer, UniqueFd signals)
    : options_(std::move(options)),
      poller_(std::move(poller)),
      timer_(std::move(timer)),
      signals_(std::move(signals)),
      signals_serial_(new_open_serial()),
      core_(options_.limits, options_.timing, KTSTATS_VERSION),
      port_(options_.port, options_.wait_port),
      links_(options_.scheduler_socket) {}

Status Relay::run() {
  for (;;) {
    const bool more = pump();
    if (fatal_) return *fatal_;
    if (port_.finished()) return Ok{};
    auto ready = poller_.wait(more ? 0 : -1);
    if (!ready) return std::move(ready).error();
    for (const Poller::Ready& event : *ready) note_ready(event);
    if (stopping_) return Ok{};
  }
}

// Event handlers only record what is ready; the pump acts on it. The
// state was settled when the loop went to sleep: only bytes to read leave
// it so (the pump reads, then settles); anything else that an event can
// change makes it settle first.
void Relay::note_ready(const Poller::Ready& ready) {
  switch (ready.tag) {
    case kSignalTag: {
      signalfd_siginfo info{};
      if (::read(signals_.get(), &info, sizeof info) != sizeof info) return;
      logger::info("signal {} received; exiting", info.ssi_signo);
      stopping_ = true;
      return;
    }
    case kTimerTag: timer_.consume(); break;
    case kPortTag: {
      // Edge-triggered: a port that could write already reports EPOLLOUT
      // again with every EPOLLIN, and that changes nothing.
      const bool was_ready = port_.can_write() && port_.host_seen();
      port_.on_ready(ready.events);
      if (was_ready && (ready.events & ~std::uint32_t{EPOLLIN | EPOLLOUT}) == 0) return;
      break;
    }
    case kPortWaitTag: port_.waiter().on_readable(); break;
    case kPortUeventTag: port_.on_uevents(); break;
    case kSocketWaitTag: links_.waiter().on_readable(); break;
    default:
      links_.on_ready(static_cast<LinkId>(ready.tag - kFirstLinkTag), ready.events);
      if (ready.events == EPOLLIN) return;
      break;
  }
  unsettled_ = true;
}

// Everything the loop waits for, declared in this one place: the port
// edge-triggered, the rest level-triggered.
void Relay::watch_all() {
  watches_.clear();
  watches_.push_back({kSignalTag, signals_.get(), signals_serial_, EPOLLIN});
  watches_.push_back({kTimerTag, timer_.fd(), timer_.serial(), EPOLLIN});
  if (port_.is_open()) watches_.push_back({kPortTag, port_.fd(), port_.serial(), HostPort::kEvents});
  for (auto [tag, waiter] : {std::pair{kPortWaitTag, &port_.waiter()},
                             std::pair{kSocketWaitTag, &links_.waiter()}}) {
    if (waiter->waiting()) watches_.push_back({tag, waiter->fd(), waiter->serial(), EPOLLIN});
  }
  if (const auto& uevents = port_.uevents(); uevents.watching()) {
    watches_.push_back({kPortUeventTag, uevents.fd(), uevents.serial(), EPOLLIN});
  }
  for (const auto& [link, channel] : links_.open_links()) {
    watches_.push_back({kFirstLinkTag + link, channel.fd(), channel.serial(), channel.events()});
  }
  if (auto watched = poller_.watch_exactly(watches_); !watched) fail(std::move(watched).error());
}

void Relay::arm_timer(Clock::time_point now) {
  const auto answers = core_.next_deadline();
  std::optional<Clock::time_point> earliest;
  for (const auto& deadline : {answers, port_.next_deadline(), links_.next_deadline()}) {
    if (deadline && (!earliest || *deadline < *earliest)) earliest = deadline;
  }
  timer_.fire_by(earliest, answers.has_value(), now);
}

// The core's deadlines that ran out: answer timeouts, scheduler waits.
void Relay::pass_time(Clock::time_point now) {
  if (const auto deadline = core_.next_deadline(); deadline && *deadline <= now) {
    core_.on_time(now);
    unsettled_ = true;
  }
}

// Everything that needs no read, in an order where each step's work
// mostly comes from the steps before it; repeated while a step left work
// for one before it.
void Relay::settle(Clock::time_point now) {
  for (bool again = true; again && !fatal_;) {
    again = open_port(now);
    again |= end_gone_host(now);
    run_link_commands(now);
    connect_waiting_links(now);
    again |= write_host(now);
    again |= write_links(now);
    again |= core_.has_link_commands() || (port_.can_write() && !core_.host_output().empty());
  }
}

bool Relay::open_port(Clock::time_point now) {
  if (port_.leave_if_superseded()) host_gone();
  auto tried = port_.open(now);
  if (!tried) {
    fail(std::move(tried).error());
    return false;
  }
  return *tried;
}

bool Relay::end_gone_host(Clock::time_point now) {
  if (!port_.host_left(now, core_.wants_host_input())) return false;
  host_gone();
  return true;
}

void Relay::host_gone() { core_.on_host_gone(); }

void Relay::run_link_commands(Clock::time_point now) {
  if (!core_.has_link_commands()) return;
  const auto commands = core_.take_link_commands();
  for (const LinkCommand& command : commands) {
    switch (command.op) {
      case LinkCommand::Op::kConnect: report(links_.connect(command.link, false, now), now); break;
      case LinkCommand::Op::kConnectOrWait: report(links_.connect(command.link, true, now), now); break;
      case LinkCommand::Op::kClose: links_.close(command.link); break;
    }
  }
}

void Relay::connect_waiting_links(Clock::time_point now) {
  outcomes_.clear();
  links_.connect_waiting(now, outcomes_);
  for (const auto& outcome : outcomes_) report(outcome, now);
}

void Relay::report(const SchedulerLinks::Outcome& outcome, Clock::time_point now) {
  switch (outcome.kind) {
    case SchedulerLinks::Outcome::Kind::kConnected: core_.on_link_connected(now, outcome.link); break;
    case SchedulerLinks::Outcome::Kind::kFailed: core_.on_link_failed(now, outcome.link, outcome.reason); break;
    case SchedulerLinks::Outcome::Kind::kWaiting: core_.on_link_waiting(outcome.link, outcome.reason); break;
  }
}

// True when the host went: the port may open again.
bool Relay::write_host(Clock::time_point now) {
  const auto output = core_.host_output();
  if (output.empty() || !port_.can_write()) return false;
  const Transfer put = port_.write(output);
  if (put.kind == Transfer::Kind::kMoved) core_.host_output_written(now, put.bytes);
  if (put.kind != Transfer::Kind::kEnded) return false;
  host_gone();
  return true;
}

// True when a link ended: the core may have answered for it.
bool Relay::write_links(Clock::time_point now) {
  bool ended = false;
  for (auto& [link, channel] : links_.open_links()) {
    const auto output = core_.link_output(link);
    if (output.empty() || !channel.can_write()) continue;
    const Transfer put = channel.write(output);
    if (put.kind == Transfer::Kind::kMoved) core_.link_output_written(link, put.bytes);
    if (put.kind == Transfer::Kind::kEnded) {
      core_.on_link_closed(now, link);
      ended = true;
    }
  }
  if (ended) links_.forget_closed();
  return ended;
}

// After each read, what the core asked of the links is done before any
// link is read again: a connection it closed is then gone, and none of its
// bytes can be taken for the next connection on the same link.
void Relay::carry_out_link_commands(Clock::time_point now) {
  if (core_.has_link_commands()) settle(now);
}

// The port only while the core wants host input, so neither its framer nor
// its output grows past their bounds; the host's hang-up meanwhile is
// caught by end_gone_host().
void Relay::read_host(Clock::time_point now) {
  for (int reads = 0; reads < kReadsPerPump && port_.can_read() && core_.wants_host_input();
       ++reads) {
    const Transfer got = port_.read(io_buffer(), now);
    if (got.kind == Transfer::Kind::kMoved) core_.on_host_bytes(now, bytes_read(got.bytes));
    if (got.kind == Transfer::Kind::kEnded) host_gone();
    carry_out_link_commands(now);
  }
}

// Level-triggered: a link left readable at its bound is reported again.
// The links are taken by id, since carrying out commands may close or
// reopen any of them.
void Relay::read_links(Clock::time_point now) {
  link_ids_.clear();
  for (const auto& [link, channel] : links_.open_links()) link_ids_.push_back(link);
  for (const LinkId link : link_ids_) {
    for (int reads = 0; reads < kReadsPerPump; ++reads) {
      SchedulerLink* channel = links_.find_open(link);
      if (channel == nullptr || !channel->can_read()) break;
      const Transfer got = channel->read(io_buffer());
      if (got.kind == Transfer::Kind::kMoved) core_.on_link_bytes(now, link, bytes_read(got.bytes));
      if (got.kind == Transfer::Kind::kEnded) core_.on_link_closed(now, link);
      carry_out_link_commands(now);
    }
  }
  links_.forget_closed();
}

void Relay::fail(Error error) {
  if (!fatal_) fatal_ = std::move(error);
}

}  // namespace ktstats::relay
