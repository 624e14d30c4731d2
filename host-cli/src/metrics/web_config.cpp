#include "metrics/web_config.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "ktstats/errno_text.hpp"
#include "ktstats/terminal_text.hpp"
#include "metrics/basic_auth.hpp"

namespace ktstats::metrics {
namespace {

constexpr std::size_t kMaxFileBytes = 1024 * 1024;

// "FILE:LINE" for a node of the file, for messages.
std::string where(const std::string& path, const YAML::Mark& mark) {
  std::string at = escape_for_terminal(path, 300);
  if (mark.line >= 0) at += ":" + std::to_string(mark.line + 1);
  return at;
}

// yaml-cpp keeps both entries of a key given twice; which one counts would
// be a guess, so the file is refused.
bool given_once(const std::string& path, const YAML::Node& key, std::string_view what,
                std::set<std::string>& seen, std::string* why) {
  if (seen.insert(key.Scalar()).second) return true;
  *why = where(path, key.Mark()) + ": " + std::string(what) + " '" + escape_for_terminal(key.Scalar(), 100) +
         "' is given twice";
  return false;
}

std::string openssl_error_text() {
  unsigned long last = 0;
  while (unsigned long code = ERR_get_error()) last = code;
  if (last == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(last, text, sizeof text);
  return text;
}

std::optional<std::string> read_file(const std::string& path, std::string* why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *why = escape_for_terminal(path, 300) + ": cannot be read: " + errno_text(errno);
    return std::nullopt;
  }
  std::string text;
  char chunk[4096];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) {
      *why = escape_for_terminal(path, 300) + ": over " + std::to_string(kMaxFileBytes) +
             " bytes, not a web config file";
      return std::nullopt;
    }
  }
  return text;
}

// A scalar's text, or nullopt and why.
std::optional<std::string> scalar(const std::string& path, const YAML::Node& node,
                                  const std::string& key, std::string* why) {
  if (!node.IsScalar()) {
    *why = where(path, node.Mark()) + ": '" + key + "' is not a string";
    return std::nullopt;
  }
  return node.Scalar();
}

std::string relative_to(const std::string& config_path, const std::string& file) {
  if (file.empty() || file.front() == '/') return file;
  const auto slash = config_path.rfind('/');
  if (slash == std::string::npos) return file;
  return config_path.substr(0, slash + 1) + file;
}

std::optional<TlsVersion> tls_version(const std::string& path, const YAML::Node& node,
                                      const std::string& key, std::string* why) {
  auto text = scalar(path, node, key, why);
  if (!text) return std::nullopt;
  if (*text == "TLS12") return TlsVersion::kTls12;
  if (*text == "TLS13") return TlsVersion::kTls13;
  *why = where(path, node.Mark()) + ": " + key + " '" + escape_for_terminal(*text, 50) +
         "' is not supported (TLS12 or TLS13)";
  return std::nullopt;
}

struct SslCtxDeleter {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};

bool readable(const std::string& path, const std::string& file, const std::string& key,
              std::string* why) {
  std::ifstream in(file);
  if (in) return true;
  *why = escape_for_terminal(path, 300) + ": " + key + " " + escape_for_terminal(file, 300) +
         " cannot be read: " + errno_text(errno);
  return false;
}

// The certificate, its key and the client CA loaded once, as the server
// will, so that a bad file stops serve at start rather than at a scrape.
bool check_tls_files(const std::string& path, const TlsServerConfig& tls, std::string* why) {
  if (!readable(path, tls.cert_file, "cert_file", why) ||
      !readable(path, tls.key_file, "key_file", why) ||
      (tls.client_ca_file && !readable(path, *tls.client_ca_file, "client_ca_file", why))) {
    return false;
  }
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, SslCtxDeleter> context(SSL_CTX_new(TLS_server_method()));
  if (!context) {
    *why = escape_for_terminal(path, 300) + ": TLS: " + openssl_error_text();
    return false;
  }
  const std::string at = escape_for_terminal(path, 300) + ": ";
  if (SSL_CTX_use_certificate_chain_file(context.get(), tls.cert_file.c_str()) != 1) {
    *why = at + "cert_file " + escape_for_terminal(tls.cert_file, 300) +
           " is not a PEM certificate: " + openssl_error_text();
    return false;
  }
  bool asked_passphrase = false;
  SSL_CTX_set_default_passwd_cb(context.get(), refuse_passphrase);
  SSL_CTX_set_default_passwd_cb_userdata(context.get(), &asked_passphrase);
  if (SSL_CTX_use_PrivateKey_file(context.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (asked_passphrase) {
      ERR_clear_error();
      *why = at + "key_file " + escape_for_terminal(tls.key_file, 300) + ": " +
             std::string(kEncryptedKeyRefused);
      return false;
    }
    *why = at + "key_file " + escape_for_terminal(tls.key_file, 300) +
           " is not a PEM private key matching cert_file: " + openssl_error_text();
    return false;
  }
  if (SSL_CTX_check_private_key(context.get()) != 1) {
    *why = at + "key_file " + escape_for_terminal(tls.key_file, 300) +
           " does not match cert_file: " + openssl_error_text();
    return false;
  }
  if (tls.client_ca_file &&
      SSL_CTX_load_verify_locations(context.get(), tls.client_ca_file->c_str(), nullptr) != 1) {
    *why = at + "client_ca_file " + escape_for_terminal(*tls.client_ca_file, 300) +
           " holds no PEM certificate: " + openssl_error_text();
    return false;
  }
  return true;
}

std::optional<TlsServerConfig> tls_server_config(const std::string& path, const YAML::Node& node,
                                                 std::string* why) {
  if (!node.IsMap()) {
    *why = where(path, node.Mark()) + ": 'tls_server_config' is not a mapping";
    return std::nullopt;
  }
  TlsServerConfig tls;
  bool auth_given = false;
  std::set<std::string> seen;
  for (const auto& entry : node) {
    if (!given_once(path, entry.first, "key", seen, why)) return std::nullopt;
    const std::string key = entry.first.Scalar();
    const YAML::Node& value = entry.second;
    if (key == "cert_file" || key == "key_file" || key == "client_ca_file") {
      auto file = scalar(path, value, key, why);
      if (!file) return std::nullopt;
      const std::string resolved = relative_to(path, *file);
      if (key == "cert_file") tls.cert_file = resolved;
      else if (key == "key_file") tls.key_file = resolved;
      else tls.client_ca_file = resolved;
    } else if (key == "client_auth_type") {
      auto type = scalar(path, value, key, why);
      if (!type) return std::nullopt;
      if (*type == "NoClientCert") {
        tls.client_auth = ClientAuth::kNone;
      } else if (*type == "RequireAndVerifyClientCert") {
        tls.client_auth = ClientAuth::kRequireAndVerify;
      } else {
        *why = where(path, value.Mark()) + ": client_auth_type '" + escape_for_terminal(*type, 50) +
               "' is not supported (NoClientCert or RequireAndVerifyClientCert)";
        return std::nullopt;
      }
      auth_given = true;
    } else if (key == "min_version" || key == "max_version") {
      auto version = tls_version(path, value, key, why);
      if (!version) return std::nullopt;
      (key == "min_version" ? tls.min_version : tls.max_version.emplace()) = *version;
    } else {
      *why = where(path, entry.first.Mark()) + ": tls_server_config key '" +
             escape_for_terminal(key, 100) +
             "' is not supported (cert_file, key_file, client_ca_file, client_auth_type, "
             "min_version, max_version)";
      return std::nullopt;
    }
  }
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    *why = where(path, node.Mark()) + ": tls_server_config needs both cert_file and key_file";
    return std::nullopt;
  }
  // As exporter-toolkit: a CA for clients nobody is asked to show a
  // certificate to is a mistake in the file.
  if (tls.client_ca_file && tls.client_auth == ClientAuth::kNone) {
    *why = where(path, node.Mark()) + ": client_ca_file is given but client_auth_type is " +
           (auth_given ? "NoClientCert" : "not given (NoClientCert)") +
           ": set client_auth_type: RequireAndVerifyClientCert, or remove client_ca_file";
    return std::nullopt;
  }
  if (tls.client_auth == ClientAuth::kRequireAndVerify && !tls.client_ca_file) {
    *why = where(path, node.Mark()) +
           ": client_auth_type RequireAndVerifyClientCert needs client_ca_file";
    return std::nullopt;
  }
  if (tls.max_version && *tls.max_version < tls.min_version) {
    *why = where(path, node.Mark()) + ": max_version is older than min_version";
    return std::nullopt;
  }
  if (!check_tls_files(path, tls, why)) return std::nullopt;
  return tls;
}

// An unknown user is checked against a dummy hash of the highest cost: a
// known user of a lower cost is answered sooner, which tells the name exists.
void warn_if_costs_differ(const std::string& path, const std::map<std::string, std::string>& users) {
  unsigned lowest = kMaxBcryptCost;
  unsigned highest = 0;
  for (const auto& [name, hash] : users) {
    lowest = std::min(lowest, bcrypt_cost(hash));
    highest = std::max(highest, bcrypt_cost(hash));
  }
  if (users.empty() || lowest == highest) return;
  spdlog::warn(
      "{}: the users' bcrypt hashes have different costs ({} to {}): the time of a 401 tells "
      "which user names exist; hash every password with the same cost",
      escape_for_terminal(path, 300), lowest, highest);
}

std::optional<std::map<std::string, std::string>> basic_auth_users(const std::string& path,
                                                                   const YAML::Node& node,
                                                                   std::string* why) {
  if (!node.IsMap()) {
    *why = where(path, node.Mark()) + ": 'basic_auth_users' is not a mapping of NAME: BCRYPT_HASH";
    return std::nullopt;
  }
  std::map<std::string, std::string> users;
  std::set<std::string> seen;
  for (const auto& entry : node) {
    const std::string name = entry.first.Scalar();
    auto hash = scalar(path, entry.second, "basic_auth_users." + escape_for_terminal(name, 100), why);
    if (!hash) return std::nullopt;
    if (name.empty() || name.find(':') != std::string::npos) {
      *why = where(path, entry.first.Mark()) + ": user name '" + escape_for_terminal(name, 100) +
             "' is empty or holds ':'";
      return std::nullopt;
    }
    if (!is_bcrypt_hash(*hash)) {
      *why = where(path, entry.second.Mark()) + ": the password of user '" +
             escape_for_terminal(name, 100) + "' is not a bcrypt hash ($2a$, $2b$ or $2y$)";
      return std::nullopt;
    }
    if (bcrypt_cost(*hash) > kMaxBcryptCost) {
      *why = where(path, entry.second.Mark()) + ": the password of user '" +
             escape_for_terminal(name, 100) + "': cost " + std::to_string(bcrypt_cost(*hash)) +
             ": at most " + std::to_string(kMaxBcryptCost) +
             "; each step doubles the time of every login check";
      return std::nullopt;
    }
    if (!given_once(path, entry.first, "user", seen, why)) return std::nullopt;
    users.emplace(name, *hash);
  }
  warn_if_costs_differ(path, users);
  return users;
}

}  // namespace

int refuse_passphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* asked) {
  if (asked != nullptr) *static_cast<bool*>(asked) = true;
  return 0;
}

std::optional<WebConfig> load_web_config(const std::string& path, std::string* why) {
  auto text = read_file(path, why);
  if (!text) return std::nullopt;
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& error) {
    *why = where(path, error.mark) + ": not valid YAML: " + escape_for_terminal(error.msg, 300);
    return std::nullopt;
  }
  WebConfig config;
  if (root.IsNull()) return config;  // an empty file: plain HTTP, no auth
  if (!root.IsMap()) {
    *why = where(path, root.Mark()) + ": not a mapping (tls_server_config, basic_auth_users)";
    return std::nullopt;
  }
  try {
    std::set<std::string> seen;
    for (const auto& entry : root) {
      if (!given_once(path, entry.first, "key", seen, why)) return std::nullopt;
      const std::string key = entry.first.Scalar();
      if (key == "tls_server_config") {
        auto tls = tls_server_config(path, entry.second, why);
        if (!tls) return std::nullopt;
        config.tls = std::move(*tls);
      } else if (key == "basic_auth_users") {
        if (entry.second.IsNull()) continue;
        auto users = basic_auth_users(path, entry.second, why);
        if (!users) return std::nullopt;
        config.basic_auth_users = std::move(*users);
      } else {
        *why = where(path, entry.first.Mark()) + ": key '" + escape_for_terminal(key, 100) +
               "' is not supported (ktstats supports tls_server_config and basic_auth_users)";
        return std::nullopt;
      }
    }
  } catch (const YAML::Exception& error) {
    *why = where(path, error.mark) + ": " + escape_for_terminal(error.msg, 300);
    return std::nullopt;
  }
  return config;
}

}  // namespace ktstats::metrics
