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

}  // namespace ktstats::serve
