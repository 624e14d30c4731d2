// The relay's ear for virtio ports: the kernel's uevent messages judged as
// bytes, a real NETLINK_KOBJECT_UEVENT socket fed with uevents injected
// through the kernel (root only; skipped where that is not allowed), and
// the relay as a process, listening while it waits for a port by name.
#include "io/uevent_watcher.hpp"

#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"

namespace ktstats::relay {
namespace {

using namespace std::string_literals;
using namespace std::chrono_literals;

// A kernel uevent message as a port's: "ACTION@DEVPATH", then the fields,
// NUL-terminated.
std::string kernel_message(const std::string& action, const std::string& subsystem) {
  const std::string devpath = "/devices/pci0000:00/0000:00:04.0/virtio1/virtio-ports/vport0p1";
  return action + "@" + devpath + "\0ACTION="s + action + "\0DEVPATH="s + devpath +
         "\0SUBSYSTEM="s + subsystem + "\0MAJOR=243\0MINOR=1\0DEVNAME=vport0p1\0SEQNUM=2114\0"s;
}

// One for injection: of no device that exists and with no device node, so
// that a udev listening in the same namespace finds nothing to act on.
std::string injected_message(const std::string& action, const std::string& subsystem) {
  const std::string devpath = "/devices/virtual/ktstats-test/none";
  return action + "@" + devpath + "\0ACTION="s + action + "\0DEVPATH="s + devpath +
         "\0SUBSYSTEM="s + subsystem + "\0"s;
}

TEST(AnnouncesVirtioPort, AnAddedPortAndAChangedOneCount) {
  EXPECT_TRUE(announces_virtio_port(kernel_message("add", "virtio-ports")));
  EXPECT_TRUE(announces_virtio_port(kernel_message("change", "virtio-ports")))
      << "a port's name reaches sysfs with a change event";
}

TEST(AnnouncesVirtioPort, OtherActionsAndSubsystemsDoNot) {
  EXPECT_FALSE(announces_virtio_port(kernel_message("remove", "virtio-ports")));
  EXPECT_FALSE(announces_virtio_port(kernel_message("bind", "virtio-ports")));
  EXPECT_FALSE(announces_virtio_port(kernel_message("add", "block")));
  EXPECT_FALSE(announces_virtio_port(kernel_message("add", "virtio-ports-x")));
  EXPECT_FALSE(announces_virtio_port(kernel_message("add", "virtio")));
}

TEST(AnnouncesVirtioPort, MalformedMessagesDoNot) {
  EXPECT_FALSE(announces_virtio_port(""));
  EXPECT_FALSE(announces_virtio_port("add@/devices/x"))  // no fields, no NUL
      << "a header without fields";
  EXPECT_FALSE(announces_virtio_port("\0ACTION=add\0SUBSYSTEM=virtio-ports\0"s)) << "no header";
  EXPECT_FALSE(announces_virtio_port("ACTION=add\0SUBSYSTEM=virtio-ports\0"s))
      << "the header names neither action nor path";
  EXPECT_FALSE(announces_virtio_port("add@/x\0ACTION=add\0SUBSYSTEMS=virtio-ports\0"s))
      << "a key that only starts like SUBSYSTEM";
  EXPECT_FALSE(announces_virtio_port("add@/x\0ACTION\0SUBSYSTEM\0"s)) << "keys without values";
  EXPECT_FALSE(announces_virtio_port("add@/x\0SUBSYSTEM=virtio-ports\0"s)) << "no ACTION";
  // The last field without its NUL still counts: the length says where it ends.
  EXPECT_TRUE(announces_virtio_port("add@/x\0ACTION=add\0SUBSYSTEM=virtio-ports"s));
}

TEST(AnnouncesVirtioPort, UdevsProcessedEventsDoNot) {
  // udev resends events with its own binary header, "libudev" first.
  const std::string udev = "libudev\0\xfe\xed\xca\xfe"s + "\x28\0\0\0"s +
                           "ACTION=add\0SUBSYSTEM=virtio-ports\0"s;
  EXPECT_FALSE(announces_virtio_port(udev));
}

// Sends MESSAGE to the kernel's uevent socket, which broadcasts it to the
// network namespace's listeners as its own (CAP_SYS_ADMIN, Linux 4.18).
bool inject(const std::string& message, std::string* why = nullptr) {
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
  if (fd < 0) {
    if (why != nullptr) *why = std::strerror(errno);
    return false;
  }
  std::vector<char> packet(NLMSG_SPACE(message.size()));
  auto* header = reinterpret_cast<nlmsghdr*>(packet.data());
  header->nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(message.size()));
  header->nlmsg_type = NLMSG_MIN_TYPE;
  header->nlmsg_flags = NLM_F_REQUEST;
  std::memcpy(NLMSG_DATA(header), message.data(), message.size());
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  const bool sent = ::sendto(fd, packet.data(), header->nlmsg_len, 0,
                             reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) >= 0;
  if (!sent && why != nullptr) *why = std::strerror(errno);
  ::close(fd);
  return sent;
}

bool readable_within(int fd, int ms) {
  pollfd ready{fd, POLLIN, 0};
  return ::poll(&ready, 1, ms) == 1;
}

class UeventWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto started = watcher.start(); !started) GTEST_SKIP() << "no uevent socket here";
    std::string why;
    // A harmless event, to learn whether this process may inject them.
    if (!inject(injected_message("change", "ktstats-test"), &why)) {
      GTEST_SKIP() << "cannot inject uevents here: " << why;
    }
    ASSERT_TRUE(readable_within(watcher.fd(), 5000));
    EXPECT_FALSE(watcher.port_announced());
  }
  // Waits for the injected event, reading whatever else the machine sent.
  bool announced_within_5s() {
    for (int i = 0; i < 50 && readable_within(watcher.fd(), 100); ++i) {
      if (watcher.port_announced()) return true;
    }
    return false;
  }

  UeventWatcher watcher;
};

TEST_F(UeventWatcherTest, HearsAPortNamedAfterItsDeviceAppeared) {
  ASSERT_TRUE(inject(injected_message("change", "virtio-ports")));
  EXPECT_TRUE(announced_within_5s());
  EXPECT_FALSE(watcher.port_announced()) << "each message counts once";
}

TEST_F(UeventWatcherTest, OtherDevicesWakeItButAnnounceNothing) {
  ASSERT_TRUE(inject(injected_message("add", "ktstats-test")));
  ASSERT_TRUE(readable_within(watcher.fd(), 5000));
  EXPECT_FALSE(watcher.port_announced());
}

// A process may send to the kernel's group itself (as root): the message
// comes from its port id, not the kernel's 0, and is not believed.
TEST_F(UeventWatcherTest, AMessageFromAProcessIsIgnored) {
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
  ASSERT_GE(fd, 0);
  sockaddr_nl group{};
  group.nl_family = AF_NETLINK;
  group.nl_groups = 1;
  const std::string forged = injected_message("change", "virtio-ports");
  const bool sent = ::sendto(fd, forged.data(), forged.size(), 0,
                             reinterpret_cast<const sockaddr*>(&group), sizeof group) >= 0;
  ::close(fd);
  if (!sent) GTEST_SKIP() << "cannot send to the group here";
  ASSERT_TRUE(readable_within(watcher.fd(), 5000));
  EXPECT_FALSE(watcher.port_announced());
}

TEST_F(UeventWatcherTest, StopsAndStartsAgain) {
  watcher.stop();
  EXPECT_FALSE(watcher.watching());
  ASSERT_TRUE(watcher.start().ok());
  ASSERT_TRUE(inject(injected_message("add", "virtio-ports")));
  EXPECT_TRUE(announced_within_5s());
}

// Whether process PID holds a socket on the kernel's uevent group, from
// /proc/net/netlink ("sk Eth Pid Groups ...": protocol 15 is
// NETLINK_KOBJECT_UEVENT; a process's first netlink socket has its pid).
bool listens_for_uevents(pid_t pid) {
  std::ifstream table("/proc/net/netlink");
  std::string line;
  std::getline(table, line);
  while (std::getline(table, line)) {
    std::istringstream fields(line);
    std::string socket;
    int protocol = -1;
    long owner = -1;
    std::string groups;
    if (fields >> socket >> protocol >> owner >> groups && protocol == NETLINK_KOBJECT_UEVENT &&
        owner == pid && groups == "00000001") {
      return true;
    }
  }
  return false;
}

class RelayWaitingForANamedPort : public ::testing::Test {
 protected:
  test::Process start_relay(std::vector<std::string> port) {
    std::vector<std::string> argv = {test::program("KTSTATS_RELAY", KTSTATS_RELAY), "--socket",
                                     dir / "stats", "--log-level", "debug"};
    argv.insert(argv.end(), port.begin(), port.end());
    return test::Process::spawn(argv);
  }
  test::TempDir dir;
};

TEST_F(RelayWaitingForANamedPort, ListensToTheKernelAndLooksAgainWhenAPortIsNamed) {
  auto relay = start_relay({"--port-name", "org.ktstats.test.absent"});
  ASSERT_TRUE(relay.wait_for_stderr("waiting for the port named org.ktstats.test.absent to appear"))
      << relay.stderr_text();
  if (relay.stderr_text().find("not hearing the kernel's port announcements") != std::string::npos) {
    GTEST_SKIP() << "no uevent socket here: " << relay.stderr_text();
  }
  EXPECT_TRUE(listens_for_uevents(relay.pid()));
  std::string why;
  if (!inject(injected_message("change", "ktstats-test"), &why)) {
    GTEST_SKIP() << "cannot inject uevents here: " << why;
  }
  ASSERT_TRUE(inject(injected_message("change", "virtio-ports")));
  EXPECT_TRUE(relay.wait_for_stderr("a virtio port was added or named: looking again"))
      << relay.stderr_text();
  EXPECT_EQ(relay.stderr_text().find("looking again"), relay.stderr_text().rfind("looking again"))
      << "another device's event is not a port's";
  relay.signal(SIGTERM);
  EXPECT_EQ(relay.wait(5s), 0);
}

// The default names its port too; a path does not, and opens no socket.
TEST_F(RelayWaitingForANamedPort, OnlyAPortNamedIsListenedFor) {
  auto by_default = start_relay({});
  auto by_path = start_relay({"--port", dir / "port"});
  ASSERT_TRUE(by_default.wait_for_stderr("to appear")) << by_default.stderr_text();
  ASSERT_TRUE(by_path.wait_for_stderr("to appear")) << by_path.stderr_text();
  if (by_default.stderr_text().find("not hearing") != std::string::npos) GTEST_SKIP();
  EXPECT_TRUE(listens_for_uevents(by_default.pid()));
  EXPECT_FALSE(listens_for_uevents(by_path.pid()));
}

// Listening costs nothing while no uevent comes: the relay sleeps.
TEST_F(RelayWaitingForANamedPort, SleepsWhileNothingHappens) {
  auto relay = start_relay({"--port-name", "org.ktstats.test.absent"});
  ASSERT_TRUE(relay.wait_for_stderr("to appear")) << relay.stderr_text();
  // What it did on its way there (logging, setting up) is over within a
  // bound, even on a loaded machine.
  auto before = test::voluntary_switches(relay.pid());
  for (int i = 0; i < 30; ++i) {
    std::this_thread::sleep_for(300ms);
    const auto now = test::voluntary_switches(relay.pid());
    if (now == before) break;
    before = now;
  }
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(test::voluntary_switches(relay.pid()), before) << "the relay woke while nothing happened";
}

}  // namespace
}  // namespace ktstats::relay
