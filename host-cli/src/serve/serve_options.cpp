#include "serve/serve_options.hpp"

#include "ktstats/terminal_text.hpp"

namespace ktstats::serve {

std::optional<VmSpec> parse_vm_spec(std::string_view text, std::string* why) {
  const auto equals = text.find('=');
  if (equals == std::string_view::npos) {
    *why = "'" + escape_for_terminal(text, 200) + "' is not NAME=URI (e.g. vm1=unix:/run/vm1.sock)";
    return std::nullopt;
  }
  const auto name = text.substr(0, equals);
  if (!is_valid_vm_name(name)) {
    *why = "'" + escape_for_terminal(name, 200) +
           "' is not a VM name (1 to 64 of A-Z a-z 0-9 _ . -, not . or ..)";
    return std::nullopt;
  }
  auto endpoint = cli::parse_endpoint(text.substr(equals + 1), why);
  if (!endpoint) return std::nullopt;
  if (!endpoint->through_relay()) {
    *why = "VM " + std::string(name) +
           ": scx: is a scheduler's own socket, not a VM's port (use unix:, pty:, tty: or pipe:)";
    return std::nullopt;
  }
  return VmSpec{std::string(name), std::move(*endpoint)};
}

bool is_listen_address(std::string_view text, std::string* why) {
  const auto colon = text.rfind(':');
  const auto host = colon == std::string_view::npos ? std::string_view() : text.substr(0, colon);
  const auto port = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  const bool host_ok = !host.empty() && (bracketed || (host.find_first_of(":[]") == std::string_view::npos));
  const bool port_ok = !port.empty() && port.size() <= 5 &&
                       port.find_first_not_of("0123456789") == std::string_view::npos &&
                       std::stoul(std::string(port)) <= 65535;
  if (host_ok && port_ok) return true;
  *why = "'" + escape_for_terminal(text, 200) +
         "' is not HOST:PORT (e.g. 127.0.0.1:9477, [::1]:9477; port 0 takes any free port)";
  return false;
}

}  // namespace ktstats::serve
