// Which device the relay serves, resolved against a stand-in sysfs tree.
#include "io/port_spec.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "process.hpp"

namespace ktstats::relay {
namespace {

class PortSpecTest : public ::testing::Test {
 protected:
  void add_port(const std::string& device, const std::string& name) {
    std::filesystem::create_directories(sysfs.path() + "/" + device);
    std::ofstream(sysfs.path() + "/" + device + "/name") << name << "\n";
  }
  PortSpec spec(PortSpec::Kind kind, std::string value = {}) {
    PortSpec port;
    port.kind = kind;
    port.value = std::move(value);
    port.sysfs_dir = sysfs.path();
    return port;
  }
  test::TempDir sysfs;
};

TEST_F(PortSpecTest, DefaultPrefersTheNamedPort) {
  EXPECT_EQ(resolve_port_path(spec(PortSpec::Kind::kDefault)), "/dev/vport0p2");
  add_port("vport0p1", "org.qemu.guest_agent.0");
  add_port("vport1p3", "org.ktstats.stats");
  EXPECT_EQ(resolve_port_path(spec(PortSpec::Kind::kDefault)), "/dev/vport1p3");
}

TEST_F(PortSpecTest, DefaultNeverTakesAPortNamedForAnotherProgram) {
  add_port("vport0p2", "org.ktstats.test.shell");
  EXPECT_EQ(resolve_port_path(spec(PortSpec::Kind::kDefault)), std::nullopt);
  add_port("vport0p1", "org.ktstats.stats");
  EXPECT_EQ(resolve_port_path(spec(PortSpec::Kind::kDefault)), "/dev/vport0p1");
}

TEST_F(PortSpecTest, DefaultTakesAnUnnamedPortAsItsFallbackUntilTheNamedOneAppears) {
  add_port("vport0p2", "");
  EXPECT_EQ(resolve_port_path(spec(PortSpec::Kind::kDefault)), "/dev/vport0p2");
  EXPECT_TRUE(is_fallback(spec(PortSpec::Kind::kDefault), "/dev/vport0p2"));
  add_port("vport0p1", "org.ktstats.stats");
  // Still the fallback once the named port appeared (also when it appeared
  // while the fallback was being opened): the one to leave.
  EXPECT_TRUE(is_fallback(spec(PortSpec::Kind::kDefault), "/dev/vport0p2"));
  EXPECT_EQ(resolve_port_path(spec(PortSpec::Kind::kDefault)), "/dev/vport0p1");
  EXPECT_FALSE(is_fallback(spec(PortSpec::Kind::kDefault), "/dev/vport0p1"));
  EXPECT_FALSE(is_fallback(spec(PortSpec::Kind::kName, "x"), "/dev/vport0p2"));
  EXPECT_FALSE(is_fallback(spec(PortSpec::Kind::kPath, "/dev/vport0p2"), "/dev/vport0p2"));
}

TEST_F(PortSpecTest, TheDefaultPathCarryingTheDefaultNameIsNoFallback) {
  add_port("vport0p2", "org.ktstats.stats");
  EXPECT_EQ(resolve_port_path(spec(PortSpec::Kind::kDefault)), "/dev/vport0p2");
  EXPECT_FALSE(is_fallback(spec(PortSpec::Kind::kDefault), "/dev/vport0p2"));
}

TEST_F(PortSpecTest, OnlyNamedSpecsListenForPorts) {
  EXPECT_TRUE(finds_port_by_name(spec(PortSpec::Kind::kDefault)));
  EXPECT_TRUE(finds_port_by_name(spec(PortSpec::Kind::kName, "x")));
  EXPECT_FALSE(finds_port_by_name(spec(PortSpec::Kind::kPath, "/dev/hvc0")));
  EXPECT_FALSE(finds_port_by_name(spec(PortSpec::Kind::kFd)));
}

TEST_F(PortSpecTest, NamedPortAppearsLater) {
  EXPECT_EQ(resolve_port_path(spec(PortSpec::Kind::kName, "stats2")), std::nullopt);
  add_port("vport0p5", "stats2");
  EXPECT_EQ(resolve_port_path(spec(PortSpec::Kind::kName, "stats2")), "/dev/vport0p5");
}

TEST_F(PortSpecTest, WatchedDirectories) {
  EXPECT_EQ(port_parent_dir(spec(PortSpec::Kind::kPath, "/dev/hvc0")), "/dev");
  EXPECT_EQ(port_parent_dir(spec(PortSpec::Kind::kPath, "port.sock")), ".");
  EXPECT_EQ(port_parent_dir(spec(PortSpec::Kind::kPath, "/x")), "/");
  EXPECT_EQ(port_parent_dir(spec(PortSpec::Kind::kName, "n")), "/dev");
}

}  // namespace
}  // namespace ktstats::relay
