#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ktstats::metrics {

enum class TlsVersion { kTls12, kTls13 };

enum class ClientAuth {
  kNone,              // NoClientCert
  kRequireAndVerify,  // RequireAndVerifyClientCert: against client_ca_file
};

struct TlsServerConfig {
  std::string cert_file;  // PEM, the chain after the server's certificate
  std::string key_file;   // PEM
  std::optional<std::string> client_ca_file;
  ClientAuth client_auth = ClientAuth::kNone;
  TlsVersion min_version = TlsVersion::kTls12;
  std::optional<TlsVersion> max_version;  // none: the newest OpenSSL has
};

// The web configuration file of Prometheus' exporter-toolkit (YAML), as far
// as ktstats supports it:
//
//   tls_server_config:
//     cert_file: server.crt
//     key_file: server.key
//     client_ca_file: ca.crt            # optional
//     client_auth_type: NoClientCert    # or RequireAndVerifyClientCert
//     min_version: TLS12                # or TLS13
//     max_version: TLS13
//   basic_auth_users:
//     alice: $2b$10$...                 # bcrypt
//
// Relative paths are taken from the file's directory, as exporter-toolkit
// does.
struct WebConfig {
  std::optional<TlsServerConfig> tls;
  std::map<std::string, std::string> basic_auth_users;  // name -> bcrypt hash
};

// nullopt and why (naming FILE, the key and what is supported) when the file
// cannot be read or parsed, holds a key or value not supported, or names a
// certificate or key that cannot be loaded or a key that does not match its
// certificate.
std::optional<WebConfig> load_web_config(const std::string& path, std::string* why);

// For SSL_CTX_set_default_passwd_cb: gives no passphrase, so that an
// encrypted key fails to load rather than OpenSSL asking for one on the
// terminal; sets the bool its userdata points to, to tell that failure apart.
int refuse_passphrase(char* buffer, int size, int rwflag, void* asked);

inline constexpr std::string_view kEncryptedKeyRefused =
    "encrypted private keys are not supported (decrypt it: openssl pkey -in KEY -out KEY.plain)";

}  // namespace ktstats::metrics
