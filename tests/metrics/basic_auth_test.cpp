// The Authorization header's parser, base64, and bcrypt checks.
#include "metrics/basic_auth.hpp"

#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include <chrono>
#include <cstdlib>

#include "test_files.hpp"

namespace ktstats::metrics {
namespace {

TEST(Base64, DecodesWithPadding) {
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_EQ(decode_base64("YQ=="), "a");
  EXPECT_EQ(decode_base64("YWI="), "ab");
  EXPECT_EQ(decode_base64("YWJj"), "abc");
  EXPECT_EQ(decode_base64("YWxpY2U6czNjcmV0"), "alice:s3cret");
  EXPECT_EQ(decode_base64("+/8A"), std::string("\xfb\xff\x00", 3));
}

TEST(Base64, RefusesWhatIsNotStandardBase64) {
  for (const char* bad : {"Y", "YQ", "YQ=", "Y===", "====", "YQ==YQ==", "YW=j", "YW J", "YWJ\n",
                          "-_8A", "YQ=\x80"}) {
    EXPECT_FALSE(decode_base64(bad)) << bad;
  }
}

TEST(BasicAuthorization, SplitsAtTheFirstColon) {
  const auto credentials = parse_basic_authorization("Basic YWxpY2U6YTpiOmM=");  // alice:a:b:c
  ASSERT_TRUE(credentials);
  EXPECT_EQ(credentials->user, "alice");
  EXPECT_EQ(credentials->password, "a:b:c");
  const auto empty = parse_basic_authorization("basic  Og==  ");  // ":", scheme in any case
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->user, "");
  EXPECT_EQ(empty->password, "");
}

TEST(BasicAuthorization, RefusesOtherSchemesAndMalformedValues) {
  for (const char* bad : {"", "Basic", "Basic ", "Bearer YWxpY2U6czNjcmV0", "BasicYWxpY2U6czNjcmV0",
                          "Basic YWxpY2U=", "Basic YWxpY2U6czNjcmV0!"}) {
    EXPECT_FALSE(parse_basic_authorization(bad)) << bad;
  }
}

TEST(Bcrypt, HashShape) {
  const std::string hash = testing::bcrypt_hash("pw");
  EXPECT_TRUE(is_bcrypt_hash(hash)) << hash;
  std::string other = hash;
  other.replace(0, 4, "$2y$");
  EXPECT_TRUE(is_bcrypt_hash(other));
  other.replace(0, 4, "$1$x");
  EXPECT_FALSE(is_bcrypt_hash(other));
  EXPECT_FALSE(is_bcrypt_hash(hash.substr(0, 59)));
  EXPECT_FALSE(is_bcrypt_hash("$2b$03$" + hash.substr(7)));
}

TEST(Bcrypt, MatchesOnlyTheRightPassword) {
  const std::string hash = testing::bcrypt_hash("s3cret");
  EXPECT_TRUE(bcrypt_matches("s3cret", hash));
  EXPECT_FALSE(bcrypt_matches("s3cre", hash));
  EXPECT_FALSE(bcrypt_matches(std::string("s3cret\0x", 8), hash));
  EXPECT_FALSE(bcrypt_matches("s3cret", "$2b$04$" + std::string(53, '.')));
}

TEST(BasicAuth, ChecksUsersAndPasswords) {
  const BasicAuth auth({{"alice", testing::bcrypt_hash("s3cret")}});
  auto remembered = [&auth](std::string_view header) {
    const auto prepared = auth.prepare(header);
    return prepared && auth.remembered(*prepared);
  };
  EXPECT_FALSE(remembered("Basic YWxpY2U6czNjcmV0"));  // not yet
  EXPECT_TRUE(auth.check("Basic YWxpY2U6czNjcmV0"));  // alice:s3cret
  EXPECT_TRUE(remembered("Basic YWxpY2U6czNjcmV0"));
  EXPECT_TRUE(auth.check("Basic YWxpY2U6czNjcmV0"));
  EXPECT_FALSE(remembered("Basic YWxpY2U6d3Jvbmc="));
  EXPECT_FALSE(auth.check("Basic YWxpY2U6d3Jvbmc="));  // alice:wrong
  EXPECT_FALSE(auth.check("Basic bWFsbG9yeTpzM2NyZXQ="));  // mallory:s3cret
  EXPECT_FALSE(auth.check(""));
}

TEST(BasicAuth, PreparedCredentialsAreRememberedOnceVerified) {
  const BasicAuth auth({{"alice", testing::bcrypt_hash("s3cret")}});
  EXPECT_FALSE(auth.prepare(""));
  EXPECT_FALSE(auth.prepare("Bearer YWxpY2U6czNjcmV0"));
  const auto right = auth.prepare("Basic YWxpY2U6czNjcmV0");  // alice:s3cret
  const auto wrong = auth.prepare("Basic YWxpY2U6d3Jvbmc=");  // alice:wrong
  ASSERT_TRUE(right && wrong);
  EXPECT_FALSE(auth.remembered(*right));
  EXPECT_FALSE(auth.verify(*wrong));
  EXPECT_TRUE(auth.verify(*right));
  EXPECT_TRUE(auth.remembered(*right));
  EXPECT_FALSE(auth.remembered(*wrong));
}

// What is remembered is keyed per instance: not a plain hash of the
// password that a dictionary could match.
TEST(BasicAuth, RememberedDigestsAreKeyedPerInstance) {
  const BasicAuth one({{"alice", testing::bcrypt_hash("s3cret")}});
  const BasicAuth two({{"alice", testing::bcrypt_hash("s3cret")}});
  const auto first = one.prepare("Basic YWxpY2U6czNjcmV0");
  const auto second = two.prepare("Basic YWxpY2U6czNjcmV0");
  ASSERT_TRUE(first && second && first->digest && second->digest);
  EXPECT_NE(*first->digest, *second->digest);
  EXPECT_EQ(first->digest, one.prepare("Basic YWxpY2U6czNjcmV0")->digest);
}

// A check under way may outlive OpenSSL (its thread is left running when
// the process exits): verify() must not need it.
TEST(BasicAuthDeathTest, VerifyNeedsNoOpenSslAfterItsCleanUp) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const BasicAuth auth({{"alice", testing::bcrypt_hash("s3cret")}});
  EXPECT_EXIT(
      {
        const auto right = auth.prepare("Basic YWxpY2U6czNjcmV0");
        const auto wrong = auth.prepare("Basic YWxpY2U6d3Jvbmc=");
        OPENSSL_cleanup();
        const bool ok = right && wrong && auth.verify(*right) && !auth.verify(*wrong) &&
                        auth.remembered(*right);
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// The dummy hash an unknown user is checked against costs the highest
// cost configured to check, not to make: start-up does not pay a cost-12
// bcrypt (its time measured here, as the bound, on this machine).
TEST(BasicAuth, StartUpDoesNotComputeAHashOfTheHighestCost) {
  const std::string hash = testing::bcrypt_hash("pw", 12);
  auto start = std::chrono::steady_clock::now();
  ASSERT_FALSE(bcrypt_matches("other", hash));
  const auto one_check = std::chrono::steady_clock::now() - start;
  start = std::chrono::steady_clock::now();
  const BasicAuth auth({{"alice", hash}});
  const auto made = std::chrono::steady_clock::now() - start;
  EXPECT_LT(made, one_check / 4)
      << std::chrono::duration_cast<std::chrono::milliseconds>(made).count() << " ms against "
      << std::chrono::duration_cast<std::chrono::milliseconds>(one_check).count() << " ms";
  // An unknown user still costs a check of that cost.
  start = std::chrono::steady_clock::now();
  EXPECT_FALSE(auth.check("Basic bWFsbG9yeTpwdw=="));  // mallory:pw
  EXPECT_GT(std::chrono::steady_clock::now() - start, one_check / 2);
}

}  // namespace
}  // namespace ktstats::metrics
