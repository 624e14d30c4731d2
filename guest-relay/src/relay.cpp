#include "relay.hpp"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "ktstats/stop_signals.hpp"

namespace ktstats::relay {

Result<std::unique_ptr<Relay>> Relay::create(RelayOptions options) {
  auto loop = EventLoop::create();
  if (!loop) return std::move(loop).error();
  std::unique_ptr<Relay> relay(new Relay(std::move(options), std::move(*loop)));
  if (auto started = relay->start(); !started) return std::move(started).error();
  return relay;
}

Relay::Relay(RelayOptions options, std::unique_ptr<EventLoop> loop)
    : options_(std::move(options)),
      loop_(std::move(loop)),
      core_(*this, options_.limits, KTSTATS_VERSION),
      link_(*loop_, core_, options_.scheduler_socket,
            {options_.response_timeout, options_.scheduler_wait},
            [this] { port_.service(); }),
      port_(*loop_, core_, options_.port, options_.wait_port,
            {[this](const std::string& why) { fail(why); }, [this] { loop_->stop(); }}) {}

Relay::~Relay() {
  if (signals_) loop_->remove(signals_.get());
}

Status Relay::start() {
  auto signals = stop_signal_fd();
  if (!signals) return std::move(signals).error();
  signals_ = std::move(*signals);
  if (auto added = loop_->add(signals_.get(), EPOLLIN, [this](std::uint32_t) { on_signal(); });
      !added) {
    return added;
  }
  if (auto started = link_.start(); !started) return started;
  return port_.start();
}

Status Relay::run() {
  if (auto ran = loop_->run(); !ran) return ran;
  if (fatal_) return *fatal_;
  return Ok{};
}

void Relay::fail(const std::string& why) {
  fatal_ = Transport{why};
  loop_->stop();
}

void Relay::on_signal() {
  signalfd_siginfo info{};
  if (::read(signals_.get(), &info, sizeof info) != sizeof info) return;
  spdlog::info("signal {} received; exiting", info.ssi_signo);
  loop_->stop();
}

}  // namespace ktstats::relay
