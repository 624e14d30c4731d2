#include "metrics/basic_auth.hpp"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdint>
#include <memory>

namespace ktstats::metrics {
namespace {

constexpr std::size_t kBcryptHashSize = 60;

// The value of a base64 character, or -1.
constexpr std::array<signed char, 256> kBase64Values = [] {
  std::array<signed char, 256> values{};
  values.fill(-1);
  constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    values[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
  }
  return values;
}();

bool ascii_iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// What an unknown user's password is checked against: a hash of the empty
// password made at the lowest cost (no start-up stall), then marked with
// cost, so that checking against it takes cost's time; no password matches
// it (the empty one neither: it was not hashed at that cost).
std::string make_dummy_hash(unsigned cost) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", 4, nullptr, 0, setting, sizeof setting) == nullptr) return {};
  auto data = std::make_unique<crypt_data>();
  const char* made = crypt_rn("", setting, data.get(), sizeof *data);
  if (made == nullptr || !is_bcrypt_hash(made)) return {};
  std::string hash(made);
  hash[4] = static_cast<char>('0' + cost / 10);
  hash[5] = static_cast<char>('0' + cost % 10);
  return hash;
}

// Keyed, so that the digests kept in memory cannot be matched against a
// dictionary of plain SHA-256 hashes.
std::optional<std::array<unsigned char, 32>> keyed_digest(const std::array<unsigned char, 32>& key,
                                                         std::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data(),
           &size) == nullptr ||
      size != digest.size()) {
    return std::nullopt;
  }
  return digest;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t at = 0; at < text.size(); at += 4) {
    const bool last = at + 4 == text.size();
    std::size_t padding = 0;
    if (last) {
      if (text[at + 3] == '=') ++padding;
      if (padding == 1 && text[at + 2] == '=') ++padding;
    }
    std::uint32_t group = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      int value = 0;
      if (i < 4 - padding) {
        value = kBase64Values[static_cast<unsigned char>(text[at + i])];
        if (value < 0) return std::nullopt;
      }
      group = (group << 6) | static_cast<std::uint32_t>(value);
    }
    out.push_back(static_cast<char>(group >> 16));
    if (padding < 2) out.push_back(static_cast<char>((group >> 8) & 0xff));
    if (padding < 1) out.push_back(static_cast<char>(group & 0xff));
  }
  return out;
}

std::optional<BasicCredentials> parse_basic_authorization(std::string_view header) {
  header = trim_spaces(header);
  const auto space = header.find(' ');
  if (space == std::string_view::npos || !ascii_iequals(header.substr(0, space), "Basic")) {
    return std::nullopt;
  }
  auto decoded = decode_base64(trim_spaces(header.substr(space + 1)));
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

bool is_bcrypt_hash(std::string_view hash) {
  if (hash.size() != kBcryptHashSize) return false;
  const auto prefix = hash.substr(0, 4);
  if (prefix != "$2a$" && prefix != "$2b$" && prefix != "$2y$") return false;
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9' || hash[6] != '$') {
    return false;
  }
  const unsigned cost = bcrypt_cost(hash);
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '/';
  });
}

unsigned bcrypt_cost(std::string_view hash) {
  return static_cast<unsigned>((hash[4] - '0') * 10 + (hash[5] - '0'));
}

bool bcrypt_matches(std::string_view password, const std::string& hash) {
  // crypt() reads a C string: a password with a NUL would be cut short.
  if (password.find('\0') != std::string_view::npos || hash.size() != kBcryptHashSize) return false;
  const std::string phrase(password);
  auto data = std::make_unique<crypt_data>();
  const char* computed = crypt_rn(phrase.c_str(), hash.c_str(), data.get(), sizeof *data);
  if (computed == nullptr || std::string_view(computed).size() != kBcryptHashSize) return false;
  return CRYPTO_memcmp(computed, hash.data(), kBcryptHashSize) == 0;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {
  unsigned cost = 4;
  for (const auto& [name, hash] : users_) {
    if (is_bcrypt_hash(hash)) cost = std::min(kMaxBcryptCost, std::max(cost, bcrypt_cost(hash)));
  }
  dummy_hash_ = make_dummy_hash(cost);
  if (Digest key{}; RAND_bytes(key.data(), static_cast<int>(key.size())) == 1) key_ = key;
}

std::optional<BasicAuth::Prepared> BasicAuth::prepare(std::string_view authorization) const {
  auto credentials = parse_basic_authorization(authorization);
  if (!credentials) return std::nullopt;
  // Without a key nothing is remembered: every check pays bcrypt's time.
  auto digest = key_ ? keyed_digest(*key_, credentials->password) : std::nullopt;
  return Prepared{std::move(*credentials), digest};
}

bool BasicAuth::remembered(const Prepared& prepared) const {
  if (!prepared.digest) return false;
  std::lock_guard lock(mutex_);
  const auto found = verified_.find(prepared.credentials.user);
  return found != verified_.end() &&
         CRYPTO_memcmp(found->second.data(), prepared.digest->data(), prepared.digest->size()) == 0;
}

bool BasicAuth::verify(const Prepared& prepared) const {
  const auto& [name, password] = prepared.credentials;
  const auto user = users_.find(name);
  const bool known = user != users_.end();
  if (known && remembered(prepared)) return true;
  const bool matches = bcrypt_matches(password, known ? user->second : dummy_hash_);
  if (!known || !matches) return false;
  if (prepared.digest) {
    std::lock_guard lock(mutex_);
    verified_[name] = *prepared.digest;
  }
  return true;
}

bool BasicAuth::check(std::string_view authorization) const {
  const auto prepared = prepare(authorization);
  return prepared && verify(*prepared);
}

}  // namespace ktstats::metrics
