#pragma once

// Files the /metrics tests make: a temporary directory, a self-signed
// certificate made with the openssl command, bcrypt hashes.
#include <crypt.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace ktstats::metrics::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ktstats-metrics-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name), std::ios::binary) << text;
    return file(name);
  }

 private:
  std::string path_;
};

// NAME.crt and NAME.key in dir: an EC key and a self-signed certificate for
// localhost. False when the openssl command failed.
inline bool make_certificate(const TempDir& dir, const std::string& name) {
  const std::string command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                              "-nodes -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost "
                              "-keyout '" + dir.file(name + ".key") + "' -out '" +
                              dir.file(name + ".crt") + "' >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

// bcrypt, by default at cost 4 (the lowest: fast enough for tests).
inline std::string bcrypt_hash(const std::string& password, int cost = 4) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, setting, sizeof setting) ==
      nullptr) {
    return {};
  }
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_r(password.c_str(), setting, data.get());
  return hash != nullptr ? hash : "";
}

}  // namespace ktstats::metrics::testing
