// Fuzzes the Authorization header's parser and its base64 decoding: any
// input decodes to what re-encodes to the same length and decodes back the
// same, any bytes survive an encode and decode, and accepted credentials
// survive being put back into a header.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "metrics/basic_auth.hpp"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

std::string encode_base64(std::string_view bytes) {
  constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t at = 0; at < bytes.size(); at += 3) {
    const std::size_t left = bytes.size() - at;
    std::uint32_t group = static_cast<unsigned char>(bytes[at]) << 16;
    if (left > 1) group |= static_cast<unsigned char>(bytes[at + 1]) << 8;
    if (left > 2) group |= static_cast<unsigned char>(bytes[at + 2]);
    out += alphabet[(group >> 18) & 63];
    out += alphabet[(group >> 12) & 63];
    out += left > 1 ? alphabet[(group >> 6) & 63] : '=';
    out += left > 2 ? alphabet[group & 63] : '=';
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  using namespace ktstats::metrics;

  if (auto decoded = decode_base64(input)) {
    const std::string again = encode_base64(*decoded);
    require(again.size() == input.size());
    require(decode_base64(again) == decoded);
  }
  require(decode_base64(encode_base64(input)) == std::string(input));

  if (auto credentials = parse_basic_authorization(input)) {
    require(credentials->user.find(':') == std::string::npos);
    auto again = parse_basic_authorization("Basic " +
                                           encode_base64(credentials->user + ":" + credentials->password));
    require(again && again->user == credentials->user && again->password == credentials->password);
  }
  return 0;
}
