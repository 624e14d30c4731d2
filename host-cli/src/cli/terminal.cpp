#include "cli/terminal.hpp"

#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

namespace ktstats::cli {
namespace {

Status write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Transport{"write to stdout", n < 0 ? errno : EIO};
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return Ok{};
}

}  // namespace

std::optional<WindowSize> window_size(int fd) {
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) != 0) return std::nullopt;
  // A pty nobody sized reports 0 x 0.
  if (size.ws_col == 0 || size.ws_row == 0) return WindowSize{};
  return WindowSize{size.ws_col, size.ws_row};
}

bool stdout_can_draw() {
  const char* term = std::getenv("TERM");
  return ::isatty(STDOUT_FILENO) && term != nullptr && *term != '\0' &&
         std::strcmp(term, "dumb") != 0;
}

Result<std::unique_ptr<TerminalView>> TerminalView::open() {
  std::unique_ptr<TerminalView> view(new TerminalView());
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGWINCH);
  sigaddset(&set, SIGTSTP);
  if (::sigprocmask(SIG_BLOCK, &set, &view->old_mask_) != 0) return Transport{"sigprocmask", errno};
  view->signals_ = UniqueFd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!view->signals_) return Transport{"signalfd", errno};
  termios modes{};
  if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &modes) == 0) {
    view->saved_modes_ = modes;
    view->keys_fd_ = STDIN_FILENO;
  }
  view->enter();
  return view;
}

TerminalView::~TerminalView() {
  leave();
  ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
}

void TerminalView::enter() {
  if (saved_modes_) {
    termios keys = *saved_modes_;
    keys.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    keys.c_cc[VMIN] = 0;
    keys.c_cc[VTIME] = 0;
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &keys);
  }
  (void)write_all(STDOUT_FILENO, kEnterView);
  entered_ = true;
}

void TerminalView::leave() {
  if (!entered_) return;
  (void)write_all(STDOUT_FILENO, kLeaveView);
  if (saved_modes_) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &*saved_modes_);
  entered_ = false;
}

WindowSize TerminalView::size() const {
  return window_size(STDOUT_FILENO).value_or(WindowSize{});
}

Status TerminalView::draw(std::string_view frame) const { return write_all(STDOUT_FILENO, frame); }

TerminalView::Event TerminalView::on_signal() {
  Event event = Event::kNothing;
  signalfd_siginfo info{};
  while (::read(signals_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (info.ssi_signo == SIGTSTP) {
      // Give the terminal back while stopped, take it again on SIGCONT.
      leave();
      ::raise(SIGSTOP);
      enter();
    }
    event = Event::kRedraw;
  }
  return event;
}

TerminalView::Event TerminalView::on_key() {
  char keys[64];
  const ssize_t n = ::read(keys_fd_, keys, sizeof keys);
  // A terminal that hung up reads as end of file forever: stop reading it.
  if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) keys_fd_ = -1;
  for (ssize_t i = 0; i < n; ++i) {
    if (keys[i] == 'q' || keys[i] == 'Q') return Event::kQuit;
  }
  return Event::kNothing;
}

}  // namespace ktstats::cli
