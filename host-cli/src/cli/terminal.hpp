#pragma once

#include <termios.h>

#include <memory>
#include <optional>
#include <string_view>

#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"
#include "render/watch_screen.hpp"

namespace ktstats::cli {

// The size of the terminal on fd, or nullopt when fd is not a terminal.
std::optional<WindowSize> window_size(int fd);

// True when stdout is a terminal the live view can draw on (TERM is set
// and not "dumb").
bool stdout_can_draw();

// The terminal while the live view is on it: the alternate screen with the
// cursor hidden, keys read one at a time without echo (Ctrl-C still a
// signal). Destruction leaves the terminal as it was, also on errors.
// SIGWINCH and SIGTSTP arrive on signal_fd(): a resize, and Ctrl-Z, which
// gives the terminal back while stopped.
class TerminalView {
 public:
  enum class Event { kNothing, kRedraw, kQuit };

  static Result<std::unique_ptr<TerminalView>> open();
  ~TerminalView();
  TerminalView(const TerminalView&) = delete;
  TerminalView& operator=(const TerminalView&) = delete;

  WindowSize size() const;
  int signal_fd() const { return signals_.get(); }
  // Standard input when it is a terminal, else -1.
  int key_fd() const { return keys_fd_; }
  Status draw(std::string_view frame) const;
  // After signal_fd() polled readable: kRedraw after a resize or a
  // stop and continue.
  Event on_signal();
  // After key_fd() polled readable: kQuit on q or Q.
  Event on_key();

 private:
  TerminalView() = default;
  void enter();
  void leave();

  UniqueFd signals_;
  sigset_t old_mask_{};
  int keys_fd_ = -1;
  std::optional<termios> saved_modes_;
  bool entered_ = false;
};

}  // namespace ktstats::cli
