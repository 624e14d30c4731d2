#include "cli/exit_status.hpp"

#include <sysexits.h>

#include <cerrno>
#include <cstdio>

namespace ktstats::cli {
namespace {

struct StatusOf {
  int operator()(const RequestTooLarge&) const { return EX_USAGE; }
  int operator()(const ResponseTooLarge&) const { return EX_PROTOCOL; }
  int operator()(const NoScheduler&) const { return EX_UNAVAILABLE; }
  int operator()(const RelayQueueFull&) const { return EX_TEMPFAIL; }
  int operator()(const SchedulerError& e) const {
    if (!answer_says_try_again(e.errno_value)) return EX_DATAERR;
    return e.errno_value == ETIMEDOUT || e.errno_value == EAGAIN || e.errno_value == EBUSY ||
                   e.errno_value == EUSERS
               ? EX_TEMPFAIL
               : EX_UNAVAILABLE;
  }
  int operator()(const MissingResp&) const { return EX_PROTOCOL; }
  int operator()(const Cancelled&) const { return 130; }
  int operator()(const Timeout&) const { return EX_TEMPFAIL; }
  int operator()(const Transport& e) const {
    // A VMM port another client holds: busy for now, as when its echo does not come.
    if (e.error == EAGAIN) return EX_TEMPFAIL;
    return e.error == ENOENT || e.error == ECONNREFUSED ? EX_UNAVAILABLE : EX_IOERR;
  }
  int operator()(const Protocol&) const { return EX_PROTOCOL; }
};

std::string transport_hint(const Transport& e, const Endpoint& endpoint) {
  const bool direct = endpoint.kind == Endpoint::Kind::kScx;
  switch (e.error) {
    case ENOENT:
      return direct ? "is a sched_ext scheduler running? pass --connect for a VM"
                    : "is the VM running with its stats port on " + endpoint.path + "?";
    case ECONNREFUSED:
      return direct ? "the socket is stale: the scheduler has exited"
                    : "nothing listens there: has the VM exited?";
    case EACCES:
      return "permission denied: try as root";
    case EAGAIN:
      return "QEMU serves one client at a time: wait for the other command to finish";
    default:
      return "check --connect " + endpoint.uri;
  }
}

struct HintOf {
  const Endpoint& endpoint;

  std::string operator()(const RequestTooLarge&) const { return "shorten the request arguments"; }
  std::string operator()(const ResponseTooLarge& e) const {
    if (!e.relay_reason.empty()) {
      return "the scheduler in the guest answered with a line over the cap; is it an scx_stats "
             "server?";
    }
    return "the peer sent a line over the cap; is --connect pointing at a stats port?";
  }
  std::string operator()(const NoScheduler&) const {
    return "start the scheduler in the guest; the relay answers as soon as its socket is there";
  }
  std::string operator()(const RelayQueueFull& e) const {
    if (e.session_limit) {
      return "the relay has as many sessions open as its --max-sessions allows; close some or "
             "raise --max-sessions";
    }
    return "another program on this port sends requests without waiting for the answers";
  }
  // Upstream answers every failure with EINVAL, and only its free text says
  // which: the target and args are the one part of a request a user chose,
  // so the hint comes where they were given, and never for a request that
  // named none (the scheduler failed on its own) or for stats_meta.
  std::string operator()(const SchedulerError& e) const {
    if (answer_says_try_again(e.errno_value)) {
      return endpoint.uri.starts_with("vm:") ? "`ktstats vms` shows the VM's state; try again later"
                                              : "try again later";
    }
    if (e.asked.verb == "stats" && !e.asked.args.empty()) return "check --target and --arg";
    return "";
  }
  std::string operator()(const MissingResp&) const {
    return "the scheduler's answer has no payload; is it an scx_stats server?";
  }
  std::string operator()(const Cancelled&) const { return "interrupted"; }
  std::string operator()(const Timeout& e) const {
    if (!e.relay_reason.empty()) {
      return "the scheduler in the guest is slow or stuck; the relay waits --response-timeout "
             "for each answer";
    }
    if (e.awaited == Awaited::kSyncEcho) {
      return "is ktstats-relay running in the guest, and no other client holding the port? "
             "for a socat bridge or ktstr's relay, use --no-sync";
    }
    return "the guest or scheduler is slow or stuck; raise --timeout to wait longer";
  }
  std::string operator()(const Transport& e) const {
    if (!e.relay_reason.empty()) {
      return "the scheduler in the guest closed its connection before answering: did it exit?";
    }
    return transport_hint(e, endpoint);
  }
  std::string operator()(const Protocol&) const {
    return endpoint.through_relay() ? "the peer is not a ktstats relay or scx_stats server"
                                    : "the socket is not an scx_stats server";
  }
};

}  // namespace

bool answer_says_try_again(int errno_value) {
  switch (errno_value) {
    case EAGAIN:
    case EBUSY:
    case ECONNREFUSED:
    case ECONNRESET:
    case EHOSTUNREACH:
    case ENOTCONN:
    case ETIMEDOUT:
    case EUSERS: return true;
    default: return false;
  }
}

int exit_status(const Error& error) { return std::visit(StatusOf{}, error); }

std::string error_line(const Error& error, const Endpoint& endpoint) {
  auto line = "ktstats: " + describe(error);
  const auto hint = std::visit(HintOf{endpoint}, error);
  if (hint.empty()) return line;
  // After text of several lines, the hint gets a line of its own.
  return line + (line.find('\n') == std::string::npos ? " (" : "\n  (") + hint + ")";
}

int report(const Error& error, const Endpoint& endpoint) {
  std::fprintf(stderr, "%s\n", error_line(error, endpoint).c_str());
  return exit_status(error);
}

int print_result(const std::string& text, const Endpoint& endpoint) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
      std::fputc('\n', stdout) == EOF || std::fflush(stdout) != 0) {
    if (errno == EPIPE) return EX_IOERR;
    return report(Transport{"write to stdout", errno}, endpoint);
  }
  return 0;
}

}  // namespace ktstats::cli
