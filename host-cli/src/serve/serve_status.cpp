#include "serve/serve_status.hpp"

#include <ctime>

#include <boost/json.hpp>

#include "ktstats/json_line.hpp"

namespace ktstats::serve {
namespace {

namespace json = boost::json;

constexpr std::pair<LinkState, std::string_view> kStates[] = {
    {LinkState::kConnected, "connected"},
    {LinkState::kWaitingForSocket, "waiting"},
    {LinkState::kBackingOff, "backoff"},
};
constexpr std::pair<RelayMode, std::string_view> kModes[] = {
    {RelayMode::kUnknown, "unknown"},
    {RelayMode::kSessions, "sessions"},
    {RelayMode::kOneAtATime, "one_at_a_time"},
};

// UTC, to the second: "2026-11-26T08:10:03Z".
std::string utc_text(std::chrono::system_clock::time_point when) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm parts{};
  ::gmtime_r(&seconds, &parts);
  char text[32];
  if (std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts) == 0) return "";
  return text;
}

std::optional<std::chrono::system_clock::time_point> utc_from(std::string_view text) {
  std::tm parts{};
  const std::string copy(text);
  const char* end = ::strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%SZ", &parts);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return std::chrono::system_clock::from_time_t(::timegm(&parts));
}

json::value optional_text(const std::string& text) {
  return text.empty() ? json::value() : json::value(text);
}

// Reading one VM back: each accessor fails the whole answer on a missing
// or mistyped field, so nothing half-read is shown.
class Reader {
 public:
  explicit Reader(const json::object& object) : object_(object) {}

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  std::string text(std::string_view key, bool nullable = false) {
    const json::value* value = object_.if_contains(key);
    if (value != nullptr && value->is_string()) return std::string(value->get_string());
    if (nullable && value != nullptr && value->is_null()) return "";
    fail(key, "a string");
    return "";
  }
  std::uint64_t count(std::string_view key) {
    const json::value* value = object_.if_contains(key);
    if (value != nullptr && value->is_uint64()) return value->get_uint64();
    if (value != nullptr && value->is_int64() && value->get_int64() >= 0) {
      return static_cast<std::uint64_t>(value->get_int64());
    }
    fail(key, "a count");
    return 0;
  }
  bool flag(std::string_view key) {
    const json::value* value = object_.if_contains(key);
    if (value != nullptr && value->is_bool()) return value->get_bool();
    fail(key, "true or false");
    return false;
  }
  const json::value* nullable(std::string_view key) {
    const json::value* value = object_.if_contains(key);
    if (value == nullptr) fail(key, "present");
    return value == nullptr || value->is_null() ? nullptr : value;
  }
  template <typename Enum, std::size_t N>
  Enum named(std::string_view key, const std::pair<Enum, std::string_view> (&names)[N]) {
    const std::string name = text(key);
    for (const auto& [value, known] : names) {
      if (name == known) return value;
    }
    fail(key, "a known name");
    return names[0].first;
  }
  void fail(std::string_view key, std::string_view what) {
    if (error_.empty()) error_ = "\"" + std::string(key) + "\" is not " + std::string(what);
  }

 private:
  const json::object& object_;
  std::string error_;
};

std::optional<LastError> last_error_from(Reader& vm, const json::value* value) {
  if (value == nullptr) return std::nullopt;
  if (!value->is_object()) {
    vm.fail("last_error", "an object or null");
    return std::nullopt;
  }
  Reader error(value->get_object());
  LastError last;
  last.errno_value = static_cast<int>(error.count("errno") & 0xffff);
  last.message = error.text("message");
  const auto since = utc_from(error.text("since"));
  if (!error.ok()) {
    vm.fail("last_error", error.error().c_str());
    return std::nullopt;
  }
  if (!since) {
    vm.fail("last_error", "with a UTC \"since\"");
    return std::nullopt;
  }
  last.since = *since;
  return last;
}

}  // namespace

std::string_view state_name(LinkState state) {
  for (const auto& [value, name] : kStates) {
    if (value == state) return name;
  }
  return "";
}

std::string_view mode_name(RelayMode mode) {
  for (const auto& [value, name] : kModes) {
    if (value == mode) return name;
  }
  return "";
}

std::string encode_status(const ServeStatus& status) {
  json::array vms;
  for (const auto& vm : status.vms) {
    json::object entry;
    entry["name"] = vm.name;
    entry["uri"] = vm.uri;
    entry["socket"] = vm.socket;
    entry["discovered"] = vm.discovered;
    entry["state"] = state_name(vm.state);
    entry["retry_in_ms"] = vm.retry_in ? json::value(vm.retry_in->count()) : json::value();
    entry["mode"] = mode_name(vm.mode);
    entry["relay"] = optional_text(vm.relay);
    entry["relay_version"] = optional_text(vm.relay_version);
    entry["clients"] = vm.clients;
    entry["sessions"] = vm.sessions;
    entry["requests"] = vm.requests;
    if (vm.last_error) {
      entry["last_error"] = {{"errno", vm.last_error->errno_value},
                             {"message", vm.last_error->message},
                             {"since", utc_text(vm.last_error->since)}};
    } else {
      entry["last_error"] = nullptr;
    }
    vms.push_back(std::move(entry));
  }
  json::object line;
  line["ktstats_serve"] = status.version;
  line["pid"] = status.pid;
  line["vms"] = std::move(vms);
  return json::serialize(line);
}

Result<ServeStatus> decode_status(std::string_view line) {
  auto parsed = parse_json_line(line);
  if (!parsed) return std::move(parsed).error();
  const json::object* top = parsed->if_object();
  const json::value* vms = top == nullptr ? nullptr : top->if_contains("vms");
  if (vms == nullptr || !vms->is_array()) {
    return Protocol{"the control socket's answer is not serve's status (no \"vms\" list)"};
  }
  Reader reader(*top);
  ServeStatus status;
  status.version = reader.text("ktstats_serve");
  status.pid = static_cast<std::int64_t>(reader.count("pid"));
  if (!reader.ok()) return Protocol{"the control socket's answer: " + reader.error()};
  for (const auto& value : vms->get_array()) {
    if (!value.is_object()) return Protocol{"the control socket's answer: a VM is not an object"};
    Reader vm(value.get_object());
    VmStatus entry;
    entry.name = vm.text("name");
    entry.uri = vm.text("uri");
    entry.socket = vm.text("socket");
    entry.discovered = vm.flag("discovered");
    entry.state = vm.named("state", kStates);
    if (const json::value* retry = vm.nullable("retry_in_ms")) {
      if (retry->is_int64() && retry->get_int64() >= 0) {
        entry.retry_in = std::chrono::milliseconds(retry->get_int64());
      } else {
        vm.fail("retry_in_ms", "a count of milliseconds or null");
      }
    }
    entry.mode = vm.named("mode", kModes);
    entry.relay = vm.text("relay", true);
    entry.relay_version = vm.text("relay_version", true);
    entry.clients = vm.count("clients");
    entry.sessions = vm.count("sessions");
    entry.requests = vm.count("requests");
    entry.last_error = last_error_from(vm, vm.nullable("last_error"));
    if (!vm.ok()) return Protocol{"the control socket's answer, a VM: " + vm.error()};
    status.vms.push_back(std::move(entry));
  }
  return status;
}

}  // namespace ktstats::serve
