#include "serve/server.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <csignal>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sysexits.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <set>

#include <spdlog/spdlog.h>

#include "ktstats/errno_text.hpp"
#include "ktstats/terminal_text.hpp"
#include "metrics/exporter.hpp"
#include "serve/control_socket.hpp"
#include "serve/serve_config.hpp"

namespace ktstats::serve {
namespace {

// What an epoll event is about: the kind in the top byte, the VM's index
// below it, a client's id in the low 40 bits.
enum class Kind : std::uint64_t {
  kStop = 1,
  kHangup,
  kTimer,
  kInotify,
  kListener,
  kVmRead,
  kVmWrite,
  kClient,
  kDiscovery,
  kControl,
  kControlClient,
};

constexpr std::uint64_t tag(Kind kind, std::size_t vm = 0, ClientId client = 0) {
  return static_cast<std::uint64_t>(kind) << 56 | static_cast<std::uint64_t>(vm) << 40 | client;
}
Kind kind_of(std::uint64_t tag) { return static_cast<Kind>(tag >> 56); }
std::size_t vm_of(std::uint64_t tag) { return static_cast<std::size_t>((tag >> 40) & 0xffff); }
ClientId client_of(std::uint64_t tag) { return tag & ((std::uint64_t{1} << 40) - 1); }

// New clients taken per wake-up and listener, so one VM's crowd cannot
// starve the others.
constexpr int kAcceptsPerPump = 16;
constexpr std::size_t kMaxEvents = 64;

std::array<char, 64 * 1024>& read_buffer() {
  static std::array<char, 64 * 1024> buffer;
  return buffer;
}

Status add_fd(int epoll, int fd, std::uint64_t what, std::uint32_t events) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = what;
  if (::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0) return Transport{"epoll_ctl", errno};
  return Ok{};
}

UniqueFd open_spare_fd() { return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

// Out of descriptors, a pending client would keep the listener readable
// and the loop spinning: the spare descriptor is given up to take it, it is
// closed at once (it sees EOF), and the spare taken again.
bool shed_pending_client(int listener, UniqueFd& spare) {
  if (!spare) return false;
  spare.reset();
  UniqueFd shed(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  const bool taken = static_cast<bool>(shed);
  shed.reset();
  spare = open_spare_fd();
  return taken;
}

// Each client is a descriptor: the soft limit (1024 on most systems) is
// raised to the hard one.
void raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("serve: raising the open files limit: {}", errno_text(errno));
  }
}

}  // namespace

Server::Server(const ServeOptions& options, RuntimeDir runtime, UniqueFd epoll, UniqueFd timer,
               UniqueFd inotify, UniqueFd hangup, int stop_fd)
    : command_line_vms_(options.vms),
      config_path_(options.config),
      runtime_(std::move(runtime)),
      epoll_(std::move(epoll)),
      timer_(std::move(timer)),
      inotify_(std::move(inotify)),
      hangup_(std::move(hangup)),
      stop_fd_(stop_fd) {
  limits_.max_clients = options.max_clients;
  limits_.request_timeout = options.request_timeout;
}

Server::~Server() = default;

Result<std::unique_ptr<Server>> Server::create(const ServeOptions& options,
                                               const std::vector<VmSpec>& vms,
                                               std::vector<DiscoverySource> discovery, int stop_fd) {
  std::set<std::string> names;
  for (const auto& vm : vms) {
    if (!names.insert(vm.name).second) {
      return Transport{"VM name '" + vm.name + "' given twice", EEXIST};
    }
  }
  auto group = socket_group(options.group);
  if (!group) return std::move(group).error();
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll) return Transport{"epoll_create1", errno};
  UniqueFd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer) return Transport{"timerfd_create", errno};
  UniqueFd inotify(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify) return Transport{"inotify_init1", errno};
  // SIGHUP reads the configuration file again; without one it is logged
  // and ignored rather than ending the daemon.
  sigset_t hangup_set;
  sigemptyset(&hangup_set);
  sigaddset(&hangup_set, SIGHUP);
  if (::sigprocmask(SIG_BLOCK, &hangup_set, nullptr) != 0) return Transport{"sigprocmask", errno};
  UniqueFd hangup(::signalfd(-1, &hangup_set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!hangup) return Transport{"signalfd", errno};
  std::optional<Discovery> discoverer;
  if (!discovery.empty()) {
    auto made = Discovery::create(std::move(discovery));
    if (!made) return std::move(made).error();
    discoverer.emplace(std::move(*made));
  }
  auto runtime = RuntimeDir::open(options.runtime_dir, *group);
  if (!runtime) return std::move(runtime).error();

  std::unique_ptr<Server> server(new Server(options, std::move(*runtime), std::move(epoll),
                                            std::move(timer), std::move(inotify), std::move(hangup),
                                            stop_fd));
  server->discovery_ = std::move(discoverer);
  server->spare_fd_ = open_spare_fd();
  const int epfd = server->epoll_.get();
  for (const auto& [fd, kind] : {std::pair{stop_fd, Kind::kStop},
                                 std::pair{server->hangup_.get(), Kind::kHangup},
                                 std::pair{server->timer_.get(), Kind::kTimer},
                                 std::pair{server->inotify_.get(), Kind::kInotify}}) {
    if (auto added = add_fd(epfd, fd, tag(kind), EPOLLIN); !added) return std::move(added).error();
  }
  // Before the VMs: a second serve on the same directory is refused here.
  auto control = ControlSocket::open(server->runtime_, epfd, tag(Kind::kControlClient));
  if (!control) {
    server->remove_all();
    return std::move(control).error();
  }
  server->control_.emplace(std::move(*control));
  spdlog::info("status for ktstats vms at {}",
               escape_for_terminal(control_socket_path(server->runtime_.path())));
  if (auto added = add_fd(epfd, server->control_->listener(), tag(Kind::kControl), EPOLLIN); !added) {
    server->remove_all();
    return std::move(added).error();
  }
  for (const auto& spec : vms) {
    if (auto added = server->add_vm(spec); !added) {
      server->remove_all();
      return std::move(added).error();
    }
  }
  if (server->discovery_) {
    if (auto added = add_fd(epfd, server->discovery_->fd(), tag(Kind::kDiscovery), EPOLLIN); !added) {
      server->remove_all();
      return std::move(added).error();
    }
    server->apply_discovery(server->discovery_->rescan());
  }
  return server;
}

Status Server::add_vm(const VmSpec& spec, bool discovered) {
  auto vm = std::make_unique<Vm>(spec, limits_);
  vm->discovered = discovered;
  // A slot freed by a removed VM is taken again (discovery adds and removes
  // VMs all the time): an event still pending for the old one finds no
  // client of that id, and its listener and connection were closed.
  const auto free_slot = std::find(vms_.begin(), vms_.end(), nullptr);
  const auto index = static_cast<std::size_t>(free_slot - vms_.begin());
  if (index > 0xffff) return Transport{"too many VMs served at once", EMFILE};
  auto socket = runtime_.listen_for(spec.name);
  if (!socket) return std::move(socket).error();
  vm->socket = std::move(*socket);
  auto added = add_fd(epoll_.get(), vm->socket.listener.get(), tag(Kind::kListener, index), EPOLLIN);
  if (!added) {
    runtime_.remove(vm->name, vm->socket);
    return std::move(added).error();
  }
  spdlog::info("{}: listening on {} for {}", spec.name, escape_for_terminal(vm->socket.path),
               escape_for_terminal(spec.endpoint.uri));
  if (free_slot == vms_.end()) {
    vms_.push_back(std::move(vm));
  } else {
    *free_slot = std::move(vm);
  }
  return Ok{};
}

Server::Vm* Server::find_vm(const std::string& name) {
  for (auto& vm : vms_) {
    if (vm && vm->name == name) return vm.get();
  }
  return nullptr;
}

void Server::read_discovery(Clock::time_point /*now*/) { apply_discovery(discovery_->on_readable()); }

// A VM whose socket went is removed (its clients closed), one whose socket
// appeared is added; a name already served (configured, or found first)
// is left alone.
void Server::apply_discovery(const DiscoveryChanges& changes) {
  for (const auto& gone : changes.gone) {
    for (std::size_t index = 0; index < vms_.size(); ++index) {
      const auto& vm = vms_[index];
      if (!vm || !vm->discovered || vm->name != gone.name) continue;
      spdlog::info("discovery: {}'s socket {} went", gone.name, escape_for_terminal(gone.socket_path, 300));
      remove_vm(index);
    }
  }
  for (const auto& found : changes.appeared) {
    if (const Vm* served = find_vm(found.name)) {
      spdlog::warn("discovery: {} not served: VM '{}' is served from {} already",
                   escape_for_terminal(found.socket_path, 300), found.name,
                   escape_for_terminal(served->uri, 300));
      continue;
    }
    std::string why;
    auto endpoint = cli::parse_endpoint("unix:" + found.socket_path, &why);
    if (!endpoint) {
      spdlog::warn("discovery: {} not served: {}", escape_for_terminal(found.socket_path, 300),
                   escape_for_terminal(why, 300));
      continue;
    }
    spdlog::info("discovery: {} found at {}", found.name, escape_for_terminal(found.socket_path, 300));
    if (auto added = add_vm({found.name, std::move(*endpoint)}, true); !added) {
      spdlog::error("{}: not served: {}", found.name, describe(added.error()));
    }
  }
}

// A VM no longer served: its clients and connection closed, its socket removed.
void Server::remove_vm(std::size_t index) {
  Vm& vm = *vms_[index];
  for (auto& [id, client] : vm.clients) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, client.fd.get(), nullptr);
  vm.clients.clear();
  if (vm.link.channel() != nullptr) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, vm.read_fd, nullptr);
    if (vm.write_fd != vm.read_fd) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, vm.write_fd, nullptr);
  }
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, vm.socket.listener.get(), nullptr);
  runtime_.remove(vm.name, vm.socket);
  spdlog::info("{}: no longer served", vm.name);
  vms_[index].reset();
}

// SIGHUP: the file read again; VMs gone from it are removed, new ones
// added, and those whose URI changed connect to the new one (their clients
// stay); the others are not touched. A file that does not parse changes
// nothing.
void Server::reload(Clock::time_point now) {
  if (!config_path_) {
    spdlog::warn("SIGHUP: no --config file to read again; nothing changed");
    return;
  }
  std::string why;
  auto file = load_serve_config(*config_path_, &why);
  auto wanted = file ? merge_vms(command_line_vms_, file->vms, *config_path_, &why) : std::nullopt;
  if (!wanted) {
    spdlog::error("SIGHUP: {}; keeping the running configuration", why);
    return;
  }
  std::map<std::string, const VmSpec*> by_name;
  for (const auto& spec : *wanted) by_name.emplace(spec.name, &spec);
  for (std::size_t index = 0; index < vms_.size(); ++index) {
    if (!vms_[index]) continue;
    Vm& vm = *vms_[index];
    auto found = by_name.find(vm.name);
    // Discovery's VMs are discovery's: the file cannot take one over.
    if (vm.discovered) {
      if (found != by_name.end()) {
        spdlog::warn("SIGHUP: VM '{}' is served from discovery ({}); the file's entry is not applied",
                     vm.name, escape_for_terminal(vm.uri, 300));
        by_name.erase(found);
      }
      continue;
    }
    if (found == by_name.end()) {
      remove_vm(index);
      continue;
    }
    if (found->second->endpoint.uri != vm.uri) {
      vm_gone(vm, now, {ECONNRESET, vm.name + ": the VM's port changed to " + found->second->endpoint.uri});
      vm.link = VmLink(vm.name, found->second->endpoint);
      vm.uri = found->second->endpoint.uri;
      spdlog::info("{}: now {}", vm.name, escape_for_terminal(vm.uri));
    }
    by_name.erase(found);
  }
  for (const auto& spec : *wanted) {
    if (!by_name.contains(spec.name)) continue;
    if (auto added = add_vm(spec); !added) {
      spdlog::error("{}: not served: {}", spec.name, describe(added.error()));
    }
  }
  spdlog::info("SIGHUP: configuration read again from {}", escape_for_terminal(*config_path_));
}

Status Server::run() {
  std::array<epoll_event, kMaxEvents> ready{};
  pump({});
  while (!stopping_ && !fatal_) {
    const int count = ::epoll_wait(epoll_.get(), ready.data(), static_cast<int>(ready.size()), -1);
    if (count < 0) {
      if (errno == EINTR) continue;
      fatal_ = Transport{"epoll_wait", errno};
      break;
    }
    pump({ready.begin(), ready.begin() + count});
  }
  remove_all();
  if (fatal_) return *fatal_;
  return Ok{};
}

// The whole flow of one wake-up: what is ready is read and fed to the
// cores, the time is passed to them, then everything that needs no wait
// (connecting, writing, dropping) is done until nothing changes; the timer
// is armed at the earliest deadline and each descriptor's events declared.
void Server::pump(const std::vector<epoll_event>& ready) {
  const auto now = Clock::now();
  for (const auto& event : ready) handle(event, now);
  pass_time(now);
  settle(now);
  update_interest();
  arm_timer();
}

void Server::handle(const epoll_event& event, Clock::time_point now) {
  const std::uint64_t what = event.data.u64;
  const std::size_t index = vm_of(what);
  const Kind kind = kind_of(what);
  // An event of a VM removed earlier in this batch.
  if (kind >= Kind::kListener && kind <= Kind::kClient && (index >= vms_.size() || !vms_[index])) {
    return;
  }
  switch (kind) {
    case Kind::kStop: {
      signalfd_siginfo info{};
      if (::read(stop_fd_, &info, sizeof info) == sizeof info) {
        spdlog::info("signal {} received; removing the sockets and exiting", info.ssi_signo);
        stopping_ = true;
      }
      return;
    }
    case Kind::kHangup: {
      signalfd_siginfo info{};
      if (::read(hangup_.get(), &info, sizeof info) == sizeof info) reload(now);
      return;
    }
    case Kind::kTimer: {
      std::uint64_t expirations = 0;
      (void)::read(timer_.get(), &expirations, sizeof expirations);
      timer_at_.reset();
      return;
    }
    case Kind::kInotify: read_inotify(now); return;
    case Kind::kListener: accept_clients(*vms_[index], index, now); return;
    case Kind::kVmRead:
    case Kind::kVmWrite:
      // Writes happen in settle(); a readable (or hung-up) VM is read here.
      if (kind_of(what) == Kind::kVmRead || (event.events & (EPOLLHUP | EPOLLERR)) != 0) {
        read_vm(*vms_[index], now);
      }
      return;
    case Kind::kClient: read_client(*vms_[index], client_of(what), event.events, now); return;
    case Kind::kDiscovery: read_discovery(now); return;
    case Kind::kControl: control_->accept_all(encode_status(status(now)) + "\n"); return;
    case Kind::kControlClient: control_->on_writable(client_of(what)); return;
  }
}

void Server::pass_time(Clock::time_point now) {
  for (auto& vm : vms_) {
    if (!vm) continue;
    if (const auto deadline = vm->core.next_deadline(); deadline && *deadline <= now) {
      vm->core.on_time(now);
    }
  }
}

void Server::settle(Clock::time_point now) {
  for (bool moved = true; moved && !fatal_;) {
    moved = false;
    for (std::size_t index = 0; index < vms_.size(); ++index) {
      if (vms_[index]) moved |= settle_vm(index, now);
    }
  }
}

bool Server::settle_vm(std::size_t index, Clock::time_point now) {
  Vm& vm = *vms_[index];
  bool moved = false;
  if (vm.core.take_vm_reset() && vm.link.channel() != nullptr) {
    vm_gone(vm, now, {ECONNRESET, vm.name + ": the VM stopped answering; connecting to it again"});
    moved = true;
  }
  if (auto attempt = vm.link.connect_if_due(now, inotify_.get())) {
    if (attempt->connected) {
      vm_connected(vm, index, now);
    } else {
      note_fault(vm, attempt->fault);
      vm.core.on_vm_unreachable(std::move(attempt->fault));
    }
    moved = true;
  }
  moved |= write_vm(vm, now);
  moved |= write_clients(vm, now);
  for (const ClientId id : vm.core.take_clients_to_drop()) {
    close_client(vm, id);
    moved = true;
  }
  return moved;
}

// --- clients ---

void Server::accept_clients(Vm& vm, std::size_t index, Clock::time_point now) {
  for (int accepted = 0; accepted < kAcceptsPerPump; ++accepted) {
    UniqueFd fd(::accept4(vm.socket.listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EMFILE || errno == ENFILE) {
        const int error = errno;
        if (shed_pending_client(vm.socket.listener.get(), spare_fd_)) {
          spdlog::warn("{}: a client closed at once: {}", vm.name, errno_text(error));
          continue;
        }
      }
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
        spdlog::warn("{}: accept: {}", vm.name, errno_text(errno));
      }
      return;
    }
    const ClientId id = next_client_++;
    if (auto added = add_fd(epoll_.get(), fd.get(), tag(Kind::kClient, index, id), EPOLLIN); !added) {
      spdlog::warn("{}: a client could not be watched: {}", vm.name, describe(added.error()));
      continue;
    }
    vm.clients.emplace(id, Client{std::move(fd), EPOLLIN});
    vm.core.on_client_attached(now, id);
    spdlog::debug("{}: client {} attached", vm.name, id);
  }
}

void Server::read_client(Vm& vm, ClientId id, std::uint32_t events, Clock::time_point now) {
  auto found = vm.clients.find(id);
  if (found == vm.clients.end()) return;
  if ((events & EPOLLOUT) != 0) vm.writable.push_back(id);
  bool gone = false;
  if ((events & EPOLLIN) != 0 && vm.core.wants_client_input(id)) {
    const IoResult got = read_fd_into(found->second.fd.get(), read_buffer());
    if (got.kind == IoResult::Kind::kDone) {
      vm.core.on_client_bytes(now, id, {read_buffer().data(), got.bytes});
    }
    // A client that shut down only its sending side gets the answers to
    // the lines it sent, as from upstream's server; the core drops it after.
    if (got.kind == IoResult::Kind::kEof) {
      vm.core.on_client_input_ended(now, id);
      return;
    }
    gone = got.kind == IoResult::Kind::kFailed;
  } else {
    gone = (events & (EPOLLHUP | EPOLLERR)) != 0;
  }
  if (!gone) return;
  spdlog::debug("{}: client {} left", vm.name, id);
  vm.core.on_client_gone(now, id);
  close_client(vm, id);
}

// Only the clients the core changed or epoll found writable: the others
// have nothing new to write.
bool Server::write_clients(Vm& vm, Clock::time_point now) {
  bool moved = false;
  std::vector<ClientId> ids = vm.core.take_changed_clients();
  ids.insert(ids.end(), vm.writable.begin(), vm.writable.end());
  vm.writable.clear();
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  vm.touched.insert(vm.touched.end(), ids.begin(), ids.end());
  std::vector<ClientId> failed;
  for (const ClientId id : ids) {
    const auto output = vm.core.client_output(id);
    if (output.empty()) continue;
    const auto client = vm.clients.find(id);
    if (client == vm.clients.end()) continue;
    const IoResult put = write_fd_from(client->second.fd.get(), output);
    if (put.kind == IoResult::Kind::kDone) {
      vm.core.client_output_written(now, id, put.bytes);
      moved = true;
    } else if (put.kind == IoResult::Kind::kFailed) {
      failed.push_back(id);
    }
  }
  for (const ClientId id : failed) {
    vm.core.on_client_gone(now, id);
    close_client(vm, id);
    moved = true;
  }
  return moved;
}

void Server::close_client(Vm& vm, ClientId id) {
  auto found = vm.clients.find(id);
  if (found == vm.clients.end()) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, found->second.fd.get(), nullptr);
  vm.clients.erase(found);
}

// --- the VM ---

void Server::vm_connected(Vm& vm, std::size_t index, Clock::time_point now) {
  Channel* channel = vm.link.channel();
  vm.read_fd = channel->read_fd();
  vm.write_fd = channel->write_fd();
  vm.read_events = EPOLLIN;
  vm.write_events = 0;
  Status added = add_fd(epoll_.get(), vm.read_fd, tag(Kind::kVmRead, index), EPOLLIN);
  if (added && vm.write_fd != vm.read_fd) {
    added = add_fd(epoll_.get(), vm.write_fd, tag(Kind::kVmWrite, index), 0);
  }
  if (!added) {
    fatal_ = std::move(added).error();
    return;
  }
  vm.core.on_vm_connected(now);
}

void Server::vm_gone(Vm& vm, Clock::time_point now, VmFault why) {
  if (vm.link.channel() == nullptr) return;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, vm.read_fd, nullptr);
  if (vm.write_fd != vm.read_fd) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, vm.write_fd, nullptr);
  vm.read_fd = vm.write_fd = -1;
  vm.link.ended(now);
  note_fault(vm, why);
  vm.core.on_vm_gone(now, std::move(why));
}

void Server::read_vm(Vm& vm, Clock::time_point now) {
  Channel* channel = vm.link.channel();
  if (channel == nullptr) return;
  const IoResult got = channel->read(read_buffer());
  switch (got.kind) {
    case IoResult::Kind::kDone: vm.core.on_vm_bytes(now, {read_buffer().data(), got.bytes}); return;
    case IoResult::Kind::kWouldBlock: return;
    case IoResult::Kind::kEof:
      vm_gone(vm, now, {ECONNRESET, vm.name + ": the VM's port closed (the VM or its VMM stopped); "
                                              "connecting again when it is back"});
      return;
    case IoResult::Kind::kFailed:
      vm_gone(vm, now, {got.error, vm.name + ": reading the VM's port failed: " +
                                       errno_text(got.error) + "; connecting again"});
      return;
  }
}

bool Server::write_vm(Vm& vm, Clock::time_point now) {
  Channel* channel = vm.link.channel();
  const auto output = vm.core.vm_output();
  if (channel == nullptr || output.empty()) return false;
  const IoResult put = channel->write(output);
  if (put.kind == IoResult::Kind::kDone) {
    vm.core.vm_output_written(put.bytes);
    return true;
  }
  if (put.kind == IoResult::Kind::kFailed) {
    vm_gone(vm, now, {put.error, vm.name + ": writing to the VM's port failed: " +
                                     errno_text(put.error) + "; connecting again"});
    return true;
  }
  return false;
}

void Server::read_inotify(Clock::time_point now) {
  alignas(inotify_event) char buffer[8192];
  for (;;) {
    const ssize_t got = ::read(inotify_.get(), buffer, sizeof buffer);
    if (got <= 0) return;
    for (ssize_t at = 0; at < got;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      const std::string_view name = event->len > 0 ? std::string_view(event->name) : "";
      // Several VMs' sockets may share a directory, and so a watch.
      for (auto& vm : vms_) {
        if (!vm || vm->link.watch_descriptor() != event->wd) continue;
        if ((event->mask & IN_IGNORED) != 0) {
          vm->link.on_watch_gone(now);
        } else {
          vm->link.on_directory_event(now, name);
        }
      }
    }
  }
}

// --- waiting ---

void Server::set_events(int fd, std::uint64_t what, std::uint32_t wanted, std::uint32_t& current) {
  if (fd < 0 || wanted == current) return;
  epoll_event event{};
  event.events = wanted;
  event.data.u64 = what;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &event) == 0) current = wanted;
}

void Server::update_interest() {
  for (std::size_t index = 0; index < vms_.size(); ++index) {
    if (!vms_[index]) continue;
    Vm& vm = *vms_[index];
    std::sort(vm.touched.begin(), vm.touched.end());
    vm.touched.erase(std::unique(vm.touched.begin(), vm.touched.end()), vm.touched.end());
    for (const ClientId id : vm.touched) {
      const auto client = vm.clients.find(id);
      if (client == vm.clients.end()) continue;
      std::uint32_t wanted = 0;
      if (vm.core.wants_client_input(id)) wanted |= EPOLLIN;
      if (!vm.core.client_output(id).empty()) wanted |= EPOLLOUT;
      set_events(client->second.fd.get(), tag(Kind::kClient, index, id), wanted, client->second.events);
    }
    vm.touched.clear();
    if (vm.link.channel() == nullptr) continue;
    const std::uint32_t out = vm.core.vm_output().empty() ? 0u : std::uint32_t{EPOLLOUT};
    if (vm.write_fd == vm.read_fd) {
      set_events(vm.read_fd, tag(Kind::kVmRead, index), EPOLLIN | out, vm.read_events);
    } else {
      set_events(vm.write_fd, tag(Kind::kVmWrite, index), out, vm.write_events);
    }
  }
}

// Set again only for a deadline earlier than the one it is set for: a
// request's deadline moves later with every request, and a timer firing
// before the earliest deadline costs one wake-up (pass_time() finds nothing
// due, and it is set again), where setting it costs two system calls a
// request. So it is never disarmed either.
void Server::arm_timer() {
  std::optional<Clock::time_point> earliest;
  for (const auto& vm : vms_) {
    if (!vm) continue;
    for (const auto& deadline : {vm->core.next_deadline(), vm->link.next_deadline()}) {
      if (deadline && (!earliest || *deadline < *earliest)) earliest = deadline;
    }
  }
  if (!earliest || (timer_at_ && *timer_at_ <= *earliest)) return;
  itimerspec spec{};
  const auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(earliest->time_since_epoch());
  // 0 would disarm the timer: a deadline already passed fires at once.
  const auto ns = std::max<std::int64_t>(since.count(), 1);
  spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  if (::timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
    fatal_ = Transport{"timerfd_settime", errno};
    return;
  }
  timer_at_ = earliest;
}

void Server::remove_all() {
  for (const auto& vm : vms_) {
    if (vm) runtime_.remove(vm->name, vm->socket);
  }
  if (control_) control_->remove(runtime_);
  runtime_.remove_if_made();
}

// Kept with the time it was first met, while the same fault repeats.
void Server::note_fault(Vm& vm, const VmFault& fault) {
  if (vm.last_error && vm.last_error->message == fault.text) return;
  vm.last_error = LastError{fault.errno_value, fault.text, std::chrono::system_clock::now()};
}

ServeStatus Server::status(Clock::time_point now) const {
  ServeStatus status;
  status.version = KTSTATS_VERSION;
  status.pid = ::getpid();
  for (const auto& vm : vms_) {
    if (!vm) continue;
    VmStatus& entry = status.vms.emplace_back();
    entry.name = vm->name;
    entry.uri = vm->uri;
    entry.socket = vm->socket.path;
    entry.discovered = vm->discovered;
    if (vm->link.channel() != nullptr) {
      entry.state = LinkState::kConnected;
    } else if (const auto due = vm->link.next_deadline()) {
      entry.state = LinkState::kBackingOff;
      entry.retry_in = std::max(std::chrono::milliseconds(0),
                                std::chrono::ceil<std::chrono::milliseconds>(*due - now));
    } else {
      entry.state = LinkState::kWaitingForSocket;
    }
    switch (vm->core.mode()) {
      case WireMode::kUnknown: entry.mode = RelayMode::kUnknown; break;
      case WireMode::kSessions: entry.mode = RelayMode::kSessions; break;
      case WireMode::kOneAtATime: entry.mode = RelayMode::kOneAtATime; break;
    }
    entry.relay = vm->core.relay();
    entry.relay_version = vm->core.relay_version();
    entry.clients = vm->core.client_count();
    entry.sessions = vm->core.sessions_open();
    entry.requests = vm->core.counters().requests;
    entry.last_error = vm->last_error;
  }
  std::sort(status.vms.begin(), status.vms.end(),
            [](const VmStatus& a, const VmStatus& b) { return a.name < b.name; });
  return status;
}

int run_serve(const ServeOptions& options, int stop_fd) {
  if (!options.quiet && options.verbosity == 0) spdlog::set_level(spdlog::level::info);
  raise_open_files_limit();
  std::vector<VmSpec> vms = options.vms;
  std::optional<std::string> discover = options.discover;
  std::optional<std::string> discover_libvirt = options.discover_libvirt;
  std::optional<std::string> metrics_listen = options.metrics_listen;
  std::optional<std::string> metrics_web_config = options.metrics_web_config;
  if (options.config) {
    std::string why;
    auto file = load_serve_config(*options.config, &why);
    auto merged = file ? merge_vms(options.vms, file->vms, *options.config, &why) : std::nullopt;
    if (!merged) {
      spdlog::error("serve: {}", why);
      return EX_CONFIG;
    }
    vms = std::move(*merged);
    // The command line's directories win over the file's.
    if (!discover) discover = file->discover;
    if (!discover_libvirt) discover_libvirt = file->discover_libvirt;
    // So do its metrics settings; both are read at start only.
    if (!metrics_listen) metrics_listen = file->metrics_listen;
    if (!metrics_web_config) metrics_web_config = file->metrics_web_config;
    if (std::string bad; metrics_listen && !is_listen_address(*metrics_listen, &bad)) {
      spdlog::error("serve: {}: metrics_listen: {}", escape_for_terminal(*options.config, 300), bad);
      return EX_CONFIG;
    }
  }
  std::vector<DiscoverySource> discovery;
  if (discover) discovery.push_back({DiscoverySource::Kind::kDirectory, *discover});
  if (discover_libvirt) discovery.push_back({DiscoverySource::Kind::kLibvirt, *discover_libvirt});
  auto server = Server::create(options, vms, std::move(discovery), stop_fd);
  if (!server) {
    spdlog::error("serve: {}", describe(server.error()));
    return EX_CANTCREAT;
  }
  // After the server: the exporter reads serve's control socket.
  std::unique_ptr<metrics::Exporter> exporter;
  if (metrics_listen) {
    metrics::ExporterStartError error;
    exporter = metrics::Exporter::start({*metrics_listen, metrics_web_config, options.metrics_timeout,
                                         control_socket_path(options.runtime_dir)},
                                        &error);
    if (!exporter) {
      spdlog::error("serve: metrics: {}", error.message);
      return error.kind == metrics::ExporterStartError::Kind::kWebConfig ? EX_CONFIG : EX_CANTCREAT;
    }
  }
  auto ran = (*server)->run();
  if (exporter) exporter->stop();
  if (!ran) {
    spdlog::error("serve: {}", describe(ran.error()));
    return EX_OSERR;
  }
  return 0;
}

}  // namespace ktstats::serve
