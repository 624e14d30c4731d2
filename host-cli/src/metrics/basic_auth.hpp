#pragma once

#include <array>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace ktstats::metrics {

// Standard base64 (RFC 4648, with padding, no whitespace); nullopt for
// anything else.
std::optional<std::string> decode_base64(std::string_view text);

struct BasicCredentials {
  std::string user;
  std::string password;
};

// The credentials of an Authorization header's value, "Basic BASE64" (the
// scheme in any case, RFC 7617): user and password split at the first ':'.
// nullopt for another scheme or a malformed value.
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header);

// "$2a$", "$2b$" or "$2y$", a two-digit cost, '$' and 53 characters.
bool is_bcrypt_hash(std::string_view hash);

// The cost of a hash is_bcrypt_hash() accepts.
unsigned bcrypt_cost(std::string_view hash);

// Each step doubles the time of every check: 14 is about a second here.
inline constexpr unsigned kMaxBcryptCost = 14;

// The users of a web config and their bcrypt hashes. A check costs one
// bcrypt computation whether or not the user exists (an unknown user's is
// made against a dummy hash of the highest cost configured), so when every
// user's hash has the same cost the answer time does not tell which names
// exist. A password found right is remembered (its HMAC-SHA-256 under a key
// drawn at start, per user), so a scraper repeating it does not pay
// bcrypt's cost on every scrape.
class BasicAuth {
 public:
  using Digest = std::array<unsigned char, 32>;

  // A header's credentials and their password's keyed digest, made by prepare()
  // on the caller's thread: the digest goes through OpenSSL's shared state,
  // which a thread left running at exit (while OpenSSL tears it down) must
  // not touch; verify() does not.
  struct Prepared {
    BasicCredentials credentials;
    std::optional<Digest> digest;  // nullopt if OpenSSL failed: never remembered
  };

  explicit BasicAuth(std::map<std::string, std::string> users);

  // nullopt for a missing (empty) or malformed header.
  std::optional<Prepared> prepare(std::string_view authorization) const;

  // Whether the user's password was found right before: no bcrypt, cheap.
  bool remembered(const Prepared& prepared) const;

  // remembered(), or else bcrypt's verdict (and remembers a right
  // password). Uses no OpenSSL state. Safe to call from several threads.
  bool verify(const Prepared& prepared) const;

  // Whether the Authorization header's value names a user and their
  // password; false for a missing (empty) or malformed one. Takes
  // bcrypt's time (tens of milliseconds at cost 10) unless the password
  // is remembered. Safe to call from several threads.
  bool check(std::string_view authorization) const;

 private:
  std::map<std::string, std::string> users_;
  std::string dummy_hash_;
  std::optional<Digest> key_;

  mutable std::mutex mutex_;
  mutable std::map<std::string, Digest> verified_;
};

// Whether password hashes to hash (bcrypt, via libcrypt), compared in
// constant time.
bool bcrypt_matches(std::string_view password, const std::string& hash);

}  // namespace ktstats::metrics
