#include "logging.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "ktstats/unique_fd.hpp"

namespace ktstats::relay {
namespace {

// One write per record, with the syslog priority the kernel log expects.
class KmsgSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit KmsgSink(UniqueFd fd) : fd_(std::move(fd)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::string record = "<" + std::to_string(priority(msg.level)) + ">ktstats-relay: ";
    record.append(msg.payload.data(), msg.payload.size());
    record.push_back('\n');
    (void)::write(fd_.get(), record.data(), record.size());
  }
  void flush_() override {}

 private:
  static int priority(spdlog::level::level_enum level) {
    switch (level) {
      case spdlog::level::critical: return 2;
      case spdlog::level::err: return 3;
      case spdlog::level::warn: return 4;
      case spdlog::level::info: return 6;
      default: return 7;
    }
  }
  UniqueFd fd_;
};

}  // namespace

Status setup_logging(LogTarget target, spdlog::level::level_enum level) {
  std::shared_ptr<spdlog::logger> logger;
  if (target == LogTarget::kKmsg) {
    UniqueFd fd(::open("/dev/kmsg", O_WRONLY | O_CLOEXEC));
    if (!fd) return Transport{"open /dev/kmsg", errno};
    logger = std::make_shared<spdlog::logger>("ktstats-relay",
                                              std::make_shared<KmsgSink>(std::move(fd)));
  } else {
    logger = spdlog::stderr_logger_st("ktstats-relay");
    logger->set_pattern("ktstats-relay: %l: %v");
  }
  logger->set_level(level);
  spdlog::set_default_logger(std::move(logger));
  return Ok{};
}

}  // namespace ktstats::relay
