// Fuzzes what users type: a --connect URI (the input's first line) and
// --arg KEY=VALUE values (the rest, NUL-separated), down to the request
// line they become. Every rejection must say why without control
// characters, and every accepted request must survive the wire unchanged.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "endpoint.hpp"
#include "ktstats/request.hpp"
#include "request_arg.hpp"

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
    require(uri.size() > endpoint->path.size() && uri.substr(uri.size() - endpoint->path.size()) == endpoint->path);
  } else {
    check_reason(why);
  }
}

void check_args(std::string_view list) {
  ktstats::Request request{"stats", {}};
  while (true) {
    const auto end = list.find('\0');
    const auto text = list.substr(0, end);
    std::string why;
    if (auto arg = ktstats::cli::parse_request_arg(text, &why)) {
      require(!arg->first.empty() && arg->first.find('=') == std::string::npos);
      require(arg->first + "=" + arg->second == text);
      request.args[arg->first] = arg->second;
    } else {
      check_reason(why);
    }
    if (end == std::string_view::npos) break;
    list.remove_prefix(end + 1);
  }
  // Too long or not UTF-8 is a typed error; anything encoded decodes back.
  auto line = ktstats::encode_request(request);
  if (!line) return;
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
