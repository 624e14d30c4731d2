// Fuzzes what users type: a --connect URI (the input's first line) and
// --arg KEY=VALUE values (the rest, NUL-separated), down to the request
// line they become; each of those values is also tried as a duration and
// as raw's line. Every rejection must say why without control characters,
// and every accepted request must survive the wire unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cli/request_arg.hpp"
#include "client/endpoint.hpp"
#include "ktstats/duration.hpp"
#include "wire/request.hpp"
#include "ktstats/utf8.hpp"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

void check_reason(const std::string& why) {
  require(!why.empty());
  for (unsigned char c : why) require(c >= 0x20 && c != 0x7F);
}

void check_connect(std::string_view uri) {
  std::string why;
  if (auto endpoint = ktstats::cli::parse_endpoint(uri, &why)) {
    require(endpoint->uri == uri);
    require(!endpoint->path.empty());
    if (uri.starts_with("vm:")) {
      // serve's socket for the VM: RUNTIME_DIR/NAME/stats.
      const std::string tail = "/" + std::string(uri.substr(3)) + "/stats";
      require(ktstats::cli::is_valid_vm_name(uri.substr(3)));
      require(endpoint->path.size() > tail.size() &&
              endpoint->path.substr(endpoint->path.size() - tail.size()) == tail);
    } else {
      require(uri.size() > endpoint->path.size() &&
              uri.substr(uri.size() - endpoint->path.size()) == endpoint->path);
    }
  } else {
    check_reason(why);
  }
}

void check_duration(std::string_view text) {
  std::string why;
  if (auto duration = ktstats::parse_duration(text, &why)) {
    require(duration->count() >= 0 && *duration <= ktstats::kMaxDuration);
  } else {
    check_reason(why);
  }
}

void check_raw_line(std::string_view text) {
  std::string why;
  if (auto line = ktstats::cli::parse_raw_line(text, &why)) {
    require(*line == text);
    require(line->find_first_not_of(" \t\v\f") != std::string::npos);
    require(line->find_first_of("\r\n") == std::string::npos);
    require(line->size() < ktstats::kMaxLineBytes);
  } else {
    check_reason(why);
  }
}

void check_args(std::string_view list) {
  ktstats::Request request{"stats", {}};
  while (true) {
    const auto end = list.find('\0');
    const auto text = list.substr(0, end);
    check_duration(text);
    check_raw_line(text);
    std::string why;
    if (auto arg = ktstats::cli::parse_request_arg(text, &why)) {
      require(!arg->first.empty() && arg->first.find('=') == std::string::npos);
      require(arg->first + "=" + arg->second == text);
      require(!ktstats::find_invalid_utf8(text));
      request.args[arg->first] = arg->second;
    } else {
      check_reason(why);
    }
    if (end == std::string_view::npos) break;
    list.remove_prefix(end + 1);
  }
  // Accepted arguments are UTF-8, so only the size can fail; anything
  // encoded decodes back.
  auto line = ktstats::encode_request(request);
  if (!line) {
    require(std::holds_alternative<ktstats::RequestTooLarge>(line.error()));
    return;
  }
  auto decoded = ktstats::decode_request(*line);
  require(decoded.ok() && *decoded == request);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  check_connect(input.substr(0, newline));
  if (newline != std::string_view::npos) check_args(input.substr(newline + 1));
  return 0;
}
