#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ktstats/result.hpp"
#include "ktstats/unique_fd.hpp"
#include "serve/control_socket.hpp"
#include "serve/discovery.hpp"
#include "serve/runtime_dir.hpp"
#include "serve/serve_options.hpp"
#include "serve/serve_status.hpp"
#include "serve/vm_core.hpp"
#include "serve/vm_link.hpp"

namespace ktstats::serve {

// `ktstats serve`'s event loop: one epoll set for every VM's listening
// socket, clients, VM connection, the inotify descriptor, one timer and the
// stop signals. Each wake-up is handled by Server::pump(), which feeds the
// per-VM cores and carries out what they ask; the cores decide everything.
class Server {
 public:
  // `vms`: the command line's and the configuration file's;
  // `discovery`: where more are found.
  static Result<std::unique_ptr<Server>> create(const ServeOptions& options,
                                                const std::vector<VmSpec>& vms,
                                                std::vector<DiscoverySource> discovery, int stop_fd);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Until a stop signal: then the sockets are removed.
  Status run();

 private:
  struct Client {
    UniqueFd fd;
    std::uint32_t events = 0;
  };
  struct Vm {
    Vm(const VmSpec& spec, CoreLimits limits)
        : name(spec.name), uri(spec.endpoint.uri), core(spec.name, limits), link(spec.name, spec.endpoint) {}
    std::string name;
    std::string uri;
    VmCore core;
    VmLink link;
    VmSocket socket;
    bool discovered = false;  // found by discovery, not configured
    std::optional<LastError> last_error;  // for `ktstats vms`
    std::map<ClientId, Client> clients;
    // Clients found writable by epoll, to be written in settle().
    std::vector<ClientId> writable;
    // Clients written to or changed in the core in this wake-up: the only
    // ones whose events update_interest() declares again.
    std::vector<ClientId> touched;
    // The VM connection's descriptors as registered, with their events.
    int read_fd = -1;
    int write_fd = -1;
    std::uint32_t read_events = 0;
    std::uint32_t write_events = 0;
  };

  Server(const ServeOptions& options, RuntimeDir runtime, UniqueFd epoll, UniqueFd timer,
         UniqueFd inotify, UniqueFd hangup, int stop_fd);

  Status add_vm(const VmSpec& spec, bool discovered = false);
  Vm* find_vm(const std::string& name);
  void read_discovery(Clock::time_point now);
  void apply_discovery(const DiscoveryChanges& changes);
  void remove_vm(std::size_t index);
  void reload(Clock::time_point now);

  void pump(const std::vector<epoll_event>& ready);
  void handle(const epoll_event& event, Clock::time_point now);
  void pass_time(Clock::time_point now);
  void settle(Clock::time_point now);
  bool settle_vm(std::size_t index, Clock::time_point now);
  void accept_clients(Vm& vm, std::size_t index, Clock::time_point now);
  void read_client(Vm& vm, ClientId id, std::uint32_t events, Clock::time_point now);
  bool write_clients(Vm& vm, Clock::time_point now);
  void close_client(Vm& vm, ClientId id);
  void read_vm(Vm& vm, Clock::time_point now);
  bool write_vm(Vm& vm, Clock::time_point now);
  void vm_connected(Vm& vm, std::size_t index, Clock::time_point now);
  void vm_gone(Vm& vm, Clock::time_point now, VmFault why);
  void read_inotify(Clock::time_point now);
  void update_interest();
  void arm_timer();
  void set_events(int fd, std::uint64_t tag, std::uint32_t wanted, std::uint32_t& current);
  void remove_all();
  void note_fault(Vm& vm, const VmFault& fault);
  ServeStatus status(Clock::time_point now) const;

  std::vector<VmSpec> command_line_vms_;
  std::optional<std::string> config_path_;
  CoreLimits limits_;
  RuntimeDir runtime_;
  UniqueFd epoll_;
  UniqueFd timer_;
  UniqueFd inotify_;
  UniqueFd hangup_;
  std::optional<Discovery> discovery_;
  std::optional<ControlSocket> control_;
  int stop_fd_;
  // By the index in their epoll tags: a VM removed at a reload leaves a
  // null, so no tag ever names another VM.
  std::vector<std::unique_ptr<Vm>> vms_;
  ClientId next_client_ = 1;
  // Held back for when descriptors run out: see accept_clients().
  UniqueFd spare_fd_;
  // When the timer is set to fire, if it is: see arm_timer().
  std::optional<Clock::time_point> timer_at_;
  bool stopping_ = false;
  std::optional<Error> fatal_;
};

// `ktstats serve`: returns the exit status, after logging why on failure.
int run_serve(const ServeOptions& options, int stop_fd);

}  // namespace ktstats::serve
