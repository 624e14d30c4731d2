// Upstream's scx_stats scripts, unmodified, against ktstats serve's socket,
// with upstream's example bin/server behind ktstats-relay behind a stand-in
// VMM. (Upstream's bin/client is run the same way in serve_test.cpp.)
// Skipped, saying why, where ../shared/upstream is absent.
#include <gtest/gtest.h>

#include <unistd.h>

#include <string>

#include "serve_harness.hpp"
#include "upstream.hpp"

namespace ktstats::test {
namespace {

constexpr const char* kScript = "scx_stats/src-1.1.2/scripts/scxstats_to_openmetrics.py";

// Where the script can be run: upstream's files, a Python 3 with
// prometheus_client, promtool to check what it writes.
std::string missing_for_the_script() {
  if (!upstream_program("scx_stats/bin/server")) return "upstream scx_stats/bin/server not found under ../shared/upstream";
  const std::string script = std::string(KTSTATS_SOURCE_DIR) + "/../shared/upstream/" + kScript;
  if (::access(script.c_str(), R_OK) != 0) return std::string("upstream ") + kScript + " not found under ../shared/upstream";
  if (::access("/usr/bin/python3", X_OK) != 0) return "/usr/bin/python3 not installed";
  auto probe = run_program({"/usr/bin/python3", "-c", "import prometheus_client"}, 30s);
  if (probe.status != 0) return "python3-prometheus-client not installed";
  if (::access("/usr/bin/promtool", X_OK) != 0) return "promtool (prometheus) not installed";
  return "";
}

// The first whole exposition the script printed: it prints one per poll,
// each starting with the same "# HELP" line, so the first one ends where
// that line comes again.
std::optional<std::string> first_exposition(Process& script) {
  std::string first_line;
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    auto line = script.read_line(std::chrono::milliseconds(remaining_ms(deadline)));
    if (!line) return std::nullopt;
    if (first_line.empty()) {
      first_line = *line;
    } else if (*line == first_line) {
      return text;
    }
    text += *line + "\n";
  }
}

TEST(ServeUpstreamScripts, ScxstatsToOpenmetricsRunsUnmodifiedAgainstServesSocket) {
  if (const auto why = missing_for_the_script(); !why.empty()) {
    GTEST_SKIP() << why << ": scxstats_to_openmetrics.py against ktstats serve not checked";
  }
  TempDir dir;
  ServedVm vm(dir, "vm1");
  ASSERT_TRUE(vm.start_upstream_server(*upstream_program("scx_stats/bin/server")))
      << vm.scheduler->stderr_text();
  vm.start_port();
  ServeProcess serve(dir, {&vm}, {"--request-timeout", "5s"});
  ASSERT_TRUE(serve.started) << serve.process->stderr_text();

  const std::string script = std::string(KTSTATS_SOURCE_DIR) + "/../shared/upstream/" + kScript;
  auto run = Process::spawn({"/usr/bin/python3", script, "--path", serve.socket_of("vm1"), "--intv", "0.2"});
  const auto exposition = first_exposition(run);
  ASSERT_TRUE(exposition) << "no exposition: " << run.stderr_text() << serve.process->stderr_text();
  // The script says "[INFO] ..., retrying" on any failure (a request's
  // error answer, a broken connection): it printed nothing but metrics.
  EXPECT_EQ(run.stderr_text().find("retrying"), std::string::npos) << run.stderr_text();
  // The example server's statistics, as gauges: a top-level field, and
  // its dict of domains with their label.
  for (const char* sample : {"at 12345.0\n", "d_events{domain_name=\"0\"} 1234.0\n",
                             "d_pressure{domain_name=\"3\"} 5.678\n"}) {
    EXPECT_NE(exposition->find(sample), std::string::npos) << sample << " not in:\n" << *exposition;
  }

  TempDir check_dir;
  const std::string file = check_dir / "metrics.prom";
  {
    std::FILE* out = std::fopen(file.c_str(), "w");
    ASSERT_NE(out, nullptr);
    std::fputs(exposition->c_str(), out);
    std::fclose(out);
  }
  auto check = run_program({"/bin/sh", "-c", "/usr/bin/promtool check metrics < \"$1\"", "sh", file}, 30s);
  EXPECT_EQ(check.status, 0) << check.out << check.err << *exposition;
}

}  // namespace
}  // namespace ktstats::test
