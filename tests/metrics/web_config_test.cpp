// The exporter-toolkit web config file: what is read, and each refusal
// naming the file and the problem.
#include "metrics/web_config.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "metrics/basic_auth.hpp"
#include "test_files.hpp"

namespace ktstats::metrics {
namespace {

using testing::TempDir;

class WebConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(testing::make_certificate(dir_, "server"));
    ASSERT_TRUE(testing::make_certificate(dir_, "other"));
  }

  // The message when the file is refused; empty when it is read.
  std::string refusal(const std::string& yaml) {
    const std::string path = dir_.write("web.yml", yaml);
    std::string why;
    const auto config = load_web_config(path, &why);
    if (config) return {};
    EXPECT_NE(why.find(path), std::string::npos) << "the message names the file: " << why;
    return why.empty() ? "(no message)" : why;
  }

  TempDir dir_;
};

TEST_F(WebConfigTest, ReadsTlsAndUsersWithPathsFromTheFilesDirectory) {
  const std::string hash = testing::bcrypt_hash("pw");
  const std::string path = dir_.write("web.yml",
                                      "tls_server_config:\n"
                                      "  cert_file: server.crt\n"
                                      "  key_file: server.key\n"
                                      "  min_version: TLS13\n"
                                      "basic_auth_users:\n"
                                      "  alice: " + hash + "\n");
  std::string why;
  const auto config = load_web_config(path, &why);
  ASSERT_TRUE(config) << why;
  ASSERT_TRUE(config->tls);
  EXPECT_EQ(config->tls->cert_file, dir_.file("server.crt"));
  EXPECT_EQ(config->tls->key_file, dir_.file("server.key"));
  EXPECT_EQ(config->tls->min_version, TlsVersion::kTls13);
  EXPECT_FALSE(config->tls->max_version);
  EXPECT_EQ(config->tls->client_auth, ClientAuth::kNone);
  EXPECT_EQ(config->basic_auth_users.at("alice"), hash);
}

TEST_F(WebConfigTest, ClientCertificatesVerifiedAgainstTheCa) {
  const std::string path = dir_.write("web.yml",
                                      "tls_server_config:\n"
                                      "  cert_file: server.crt\n"
                                      "  key_file: server.key\n"
                                      "  client_ca_file: other.crt\n"
                                      "  client_auth_type: RequireAndVerifyClientCert\n");
  std::string why;
  const auto config = load_web_config(path, &why);
  ASSERT_TRUE(config) << why;
  EXPECT_EQ(config->tls->client_auth, ClientAuth::kRequireAndVerify);
  EXPECT_EQ(config->tls->client_ca_file, dir_.file("other.crt"));
}

TEST_F(WebConfigTest, EmptyFileIsPlainHttpWithoutAuth) {
  EXPECT_EQ(refusal(""), "");
}

TEST_F(WebConfigTest, UnknownKeysAreRefusedNamingThemAndWhatIsSupported) {
  const std::string top = refusal("http_server_config:\n  http2: false\n");
  EXPECT_NE(top.find("http_server_config"), std::string::npos) << top;
  EXPECT_NE(top.find("tls_server_config and basic_auth_users"), std::string::npos) << top;
  EXPECT_NE(top.find(":1:"), std::string::npos) << "the line: " << top;

  const std::string nested = refusal(
      "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
      "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n");
  EXPECT_NE(nested.find("cipher_suites"), std::string::npos) << nested;
  EXPECT_NE(nested.find("cert_file, key_file, client_ca_file"), std::string::npos) << nested;
}

TEST_F(WebConfigTest, KeysGivenTwiceAreRefusedWithTheirLine) {
  const std::string tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
  const std::string nested = refusal(tls + "  cert_file: other.crt\n");
  EXPECT_NE(nested.find("'cert_file' is given twice"), std::string::npos) << nested;
  EXPECT_NE(nested.find(":4:"), std::string::npos) << "the line: " << nested;
  const std::string top = refusal(tls + "basic_auth_users:\ntls_server_config:\n  cert_file: x\n");
  EXPECT_NE(top.find("'tls_server_config' is given twice"), std::string::npos) << top;
  const std::string users = refusal("basic_auth_users:\n  alice: " + testing::bcrypt_hash("a") +
                                    "\n  alice: " + testing::bcrypt_hash("b") + "\n");
  EXPECT_NE(users.find("'alice' is given twice"), std::string::npos) << users;
  EXPECT_EQ(refusal(tls), "");
}

TEST_F(WebConfigTest, UnsupportedValuesAreRefused) {
  const std::string tls = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
  const std::string auth = refusal(tls + "  client_ca_file: other.crt\n  client_auth_type: RequestClientCert\n");
  EXPECT_NE(auth.find("RequestClientCert"), std::string::npos) << auth;
  EXPECT_NE(auth.find("NoClientCert or RequireAndVerifyClientCert"), std::string::npos) << auth;
  const std::string old = refusal(tls + "  min_version: TLS11\n");
  EXPECT_NE(old.find("TLS12 or TLS13"), std::string::npos) << old;
  const std::string no_ca = refusal(tls + "  client_auth_type: RequireAndVerifyClientCert\n");
  EXPECT_NE(no_ca.find("client_ca_file"), std::string::npos) << no_ca;
  const std::string ca_alone = refusal(tls + "  client_ca_file: other.crt\n");
  EXPECT_NE(ca_alone.find("RequireAndVerifyClientCert"), std::string::npos) << ca_alone;
  const std::string not_bcrypt = refusal("basic_auth_users:\n  alice: plaintext\n");
  EXPECT_NE(not_bcrypt.find("not a bcrypt hash"), std::string::npos) << not_bcrypt;
  EXPECT_NE(refusal("basic_auth_users:\n  alice: [a, b]\n"), "");
  EXPECT_NE(refusal("- a list\n"), "");
}

TEST_F(WebConfigTest, MissingOrBadFilesAreRefusedAtLoad) {
  const std::string missing =
      refusal("tls_server_config:\n  cert_file: absent.crt\n  key_file: server.key\n");
  EXPECT_NE(missing.find("cert_file"), std::string::npos) << missing;
  EXPECT_NE(missing.find("absent.crt"), std::string::npos) << missing;
  EXPECT_NE(missing.find("ENOENT"), std::string::npos) << missing;

  const std::string mismatch =
      refusal("tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n");
  EXPECT_NE(mismatch.find("key_file"), std::string::npos) << mismatch;
  EXPECT_NE(mismatch.find("match"), std::string::npos) << mismatch;

  dir_.write("garbage.crt", "not a certificate\n");
  const std::string garbage =
      refusal("tls_server_config:\n  cert_file: garbage.crt\n  key_file: server.key\n");
  EXPECT_NE(garbage.find("not a PEM certificate"), std::string::npos) << garbage;

  const std::string no_key = refusal("tls_server_config:\n  cert_file: server.crt\n");
  EXPECT_NE(no_key.find("key_file"), std::string::npos) << no_key;
}

TEST_F(WebConfigTest, BadYamlIsRefusedWithItsLine) {
  const std::string why = refusal("basic_auth_users:\n  alice: x\ntls_server_config: {cert_file: x\n");
  EXPECT_NE(why.find("not valid YAML"), std::string::npos) << why;
  EXPECT_NE(why.find(":4:"), std::string::npos) << why;
}

TEST_F(WebConfigTest, UnreadableFileIsRefused) {
  std::string why;
  EXPECT_FALSE(load_web_config(dir_.file("absent.yml"), &why));
  EXPECT_NE(why.find(dir_.file("absent.yml")), std::string::npos) << why;
  EXPECT_NE(why.find("ENOENT"), std::string::npos) << why;
}

TEST_F(WebConfigTest, ControlCharactersInKeysAreEscapedInTheMessage) {
  const std::string why = refusal("\"evil\\e[2J\": 1\n");
  EXPECT_EQ(why.find('\x1b'), std::string::npos) << why;
  EXPECT_NE(why.find("\\x1b"), std::string::npos) << why;
}

// An encrypted key would make OpenSSL ask for its passphrase on the
// terminal (or stdin): refused at once, saying how to decrypt it. Loaded in
// a child with no terminal and stdin a pipe nobody writes, so that a prompt
// shows as a child that does not end (killed after 10 s).
TEST_F(WebConfigTest, EncryptedKeyIsRefusedWithoutAPrompt) {
  const std::string key = dir_.file("locked.key");
  const std::string command = "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 "
                              "-aes256 -pass pass:x -out '" + key + "' >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const std::string path = dir_.write("web.yml",
                                      "tls_server_config:\n"
                                      "  cert_file: server.crt\n"
                                      "  key_file: locked.key\n");
  int stdin_pipe[2];
  int result_pipe[2];
  ASSERT_EQ(::pipe(stdin_pipe), 0);
  ASSERT_EQ(::pipe(result_pipe), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setsid();  // no controlling terminal: /dev/tty cannot be opened
    ::dup2(stdin_pipe[0], 0);
    std::string why;
    const bool loaded = load_web_config(path, &why).has_value();
    const std::string said = (loaded ? "loaded" : why);
    (void)!::write(result_pipe[1], said.data(), said.size());
    ::_exit(0);
  }
  ::close(result_pipe[1]);
  std::string said;
  pollfd ready{result_pipe[0], POLLIN, 0};
  while (::poll(&ready, 1, 10'000) == 1) {
    char chunk[1024];
    const ssize_t size = ::read(result_pipe[0], chunk, sizeof chunk);
    if (size <= 0) break;
    said.append(chunk, static_cast<std::size_t>(size));
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  for (const int fd : {stdin_pipe[0], stdin_pipe[1], result_pipe[0]}) ::close(fd);
  EXPECT_NE(said.find("encrypted private keys are not supported (decrypt it: openssl pkey -in KEY "
                      "-out KEY.plain)"),
            std::string::npos)
      << (said.empty() ? "no answer within 10 s: a passphrase prompt?" : said);
}

// Each step of bcrypt's cost doubles the time of every login check.
TEST_F(WebConfigTest, BcryptCostOver14IsRefused) {
  std::string hash = testing::bcrypt_hash("pw");
  hash.replace(4, 2, "15");  // the shape of a cost-15 hash, without its seconds of making
  const std::string refused = refusal("basic_auth_users:\n  alice: " + hash + "\n");
  EXPECT_NE(refused.find("cost 15: at most 14; each step doubles the time of every login check"),
            std::string::npos)
      << refused;
}

// An unknown user is checked at the highest cost: a known user of a lower
// cost is answered sooner, which tells the name exists. Said at load.
TEST_F(WebConfigTest, UsersOfDifferentCostsAreWarnedOf) {
  std::ostringstream logged;
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_st>(logged)));
  EXPECT_EQ(refusal("basic_auth_users:\n  alice: " + testing::bcrypt_hash("pw", 4) +
                    "\n  bob: " + testing::bcrypt_hash("pw", 4) + "\n"),
            "");
  EXPECT_EQ(logged.str(), "");
  EXPECT_EQ(refusal("basic_auth_users:\n  alice: " + testing::bcrypt_hash("pw", 4) +
                    "\n  bob: " + testing::bcrypt_hash("pw", 5) + "\n"),
            "");
  spdlog::set_default_logger(previous);
  EXPECT_NE(logged.str().find("different costs (4 to 5)"), std::string::npos) << logged.str();
}

}  // namespace
}  // namespace ktstats::metrics
