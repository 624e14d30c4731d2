// Discovery's naming rules, and what it reports as sockets come and go in
// a real directory.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "ktstats/unique_fd.hpp"
#include "serve/discovery.hpp"

namespace ktstats::serve {
namespace {

std::string named(std::string_view file) {
  std::string why;
  return vm_name_of_socket_file(file, &why).value_or("<" + why + ">");
}

std::string domain(std::string_view directory) {
  std::string why;
  return vm_name_of_libvirt_directory(directory, &why).value_or("");
}

TEST(DiscoveryNames, ASocketFileIsItsNameWithoutTheSockEnding) {
  EXPECT_EQ(named("vm1.sock"), "vm1");
  EXPECT_EQ(named("vm1"), "vm1");
  EXPECT_EQ(named("web-1.example"), "web-1.example");
  EXPECT_EQ(named(".sock"), ".sock");  // nothing left without the ending
  // Refused, with why.
  EXPECT_EQ(named("a b.sock").front(), '<');
  EXPECT_EQ(named("..").front(), '<');
  EXPECT_EQ(named(std::string(65, 'v')).front(), '<');
}

TEST(DiscoveryNames, ALibvirtDirectoryIsTheDomainsName) {
  EXPECT_EQ(domain("domain-3-guest"), "guest");
  EXPECT_EQ(domain("domain-12-guest-a-b"), "guest-a-b");
  EXPECT_EQ(domain("7-guest"), "guest");
  EXPECT_EQ(domain("domain-x-guest"), "");
  EXPECT_EQ(domain("guest"), "");
  EXPECT_EQ(domain("lost+found"), "");
  EXPECT_EQ(domain("3-"), "");
  EXPECT_EQ(domain("3-bad name"), "");
}

class DiscoveryDirectory : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ktstats-discovery-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root = pattern;
  }
  void TearDown() override { std::system(("rm -rf '" + root + "'").c_str()); }

  // A socket file, as a VMM's bind() leaves it.
  UniqueFd make_socket(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << path;
    return fd;
  }

  std::string root;
};

TEST_F(DiscoveryDirectory, SocketsThatComeAndGoAreReported) {
  auto vm1 = make_socket(root + "/vm1.sock");
  auto made = Discovery::create({{DiscoverySource::Kind::kDirectory, root}});
  ASSERT_TRUE(made);
  Discovery& discovery = *made;
  auto first = discovery.rescan();
  ASSERT_EQ(first.appeared.size(), 1u);
  EXPECT_EQ(first.appeared[0], (DiscoveredVm{"vm1", root + "/vm1.sock"}));
  EXPECT_TRUE(first.gone.empty());
  EXPECT_TRUE(discovery.rescan().appeared.empty());

  auto vm2 = make_socket(root + "/vm2");
  // The same VM's name in another file.
  auto same_name = make_socket(root + "/vm1");
  ::unlink((root + "/vm1.sock").c_str());
  const auto changes = discovery.on_readable();
  // vm1.sock gone, "vm1" stands for vm1: the VM moved to another socket.
  ASSERT_EQ(changes.gone.size(), 1u);
  EXPECT_EQ(changes.gone[0].socket_path, root + "/vm1.sock");
  ASSERT_EQ(changes.appeared.size(), 2u);
  EXPECT_EQ(changes.appeared[0], (DiscoveredVm{"vm1", root + "/vm1"}));
  EXPECT_EQ(changes.appeared[1], (DiscoveredVm{"vm2", root + "/vm2"}));
}

TEST_F(DiscoveryDirectory, ADirectoryThatIsNotThereIsRefused) {
  EXPECT_FALSE(Discovery::create({{DiscoverySource::Kind::kLibvirt, root + "/absent"}}));
}

}  // namespace
}  // namespace ktstats::serve
