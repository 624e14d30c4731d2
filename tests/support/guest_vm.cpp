#include "guest_vm.hpp"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace ktstats::test {

GuestVm::GuestVm(Options options)
    : stats_socket_(options.stats_socket.empty() ? dir_ / "stats.sock" : options.stats_socket) {
  const std::string vm_dir = KTSTATS_SOURCE_DIR "/tests/vm";
  std::string kernel = options.kernel_image;
  std::vector<std::string> initramfs;
  if (kernel.empty()) {
    if (!run_step({vm_dir + "/get-kernel", options.kernel_cache}, 300s)) return;
    kernel = options.kernel_cache + "/vmlinuz";
    initramfs = {vm_dir + "/build-initramfs", dir_ / "initramfs.cpio", options.kernel_cache, options.relay,
                 options.scheduler};
    initramfs.insert(initramfs.end(), options.tools.begin(), options.tools.end());
  } else {
    initramfs = options.initramfs_builder;
    initramfs.insert(initramfs.begin() + (initramfs.empty() ? 0 : 1), dir_ / "initramfs.cpio");
  }
  if (!run_step(initramfs, 60s)) return;

  const char* accel = std::getenv("KTSTATS_VM_ACCEL");
  // no_timer_check: at boot the kernel checks that the timer interrupt
  // reaches the IO-APIC within a busy loop of its own; an emulated CPU on a
  // loaded host can miss that window, and the kernel then panics.
  std::vector<std::string> argv{
      "/usr/bin/qemu-system-x86_64", "-accel", accel ? accel : "tcg",
      "-m", std::to_string(options.memory_mib), "-smp", std::to_string(options.cpus),
      "-display", "none", "-monitor", "none", "-no-reboot",
      "-serial", "file:" + dir_ / "console.log",
      "-kernel", kernel, "-initrd", dir_ / "initramfs.cpio",
      "-append", "console=ttyS0 quiet panic=-1 no_timer_check printk.devkmsg=on ktstats_test.relay_log=" + options.relay_log_level,
      "-device", "virtio-serial-pci,id=vs0",
      "-chardev", "socket,id=ctl,path=" + dir_ / "ctl.sock" + ",server=on,wait=on",
      "-device", "virtserialport,bus=vs0.0,nr=1,chardev=ctl,name=org.ktstats.test-control",
      "-chardev", "socket,id=stats,path=" + stats_socket() + ",server=on,wait=off",
      "-device", "virtserialport,bus=vs0.0,nr=2,chardev=stats,name=org.ktstats.stats"};
  int nr = 3;
  for (const auto& name : options.extra_ports) {
    const auto id = "port" + std::to_string(nr);
    argv.insert(argv.end(), {"-chardev", "socket,id=" + id + ",path=" + port_socket(name) + ",server=on,wait=off",
                             "-device", "virtserialport,bus=vs0.0,nr=" + std::to_string(nr) +
                                            ",chardev=" + id + ",name=" + name});
    ++nr;
  }
  qemu_.emplace(Process::spawn(argv));
  if (!qemu_->wait_for_stderr("waiting for connection", 30s)) {
    failure_ = "QEMU did not start: " + qemu_->stderr_text();
    return;
  }
  control_.emplace(LinePeer::connect(dir_ / "ctl.sock"));
  auto ready = control_->read_line(120s);
  if (!ready || ready->rfind("ready", 0) != 0) {
    failure_ = "the guest did not come up; console:\n" + console();
    return;
  }
  kernel_release_ = ready->substr(6);
}

GuestVm::~GuestVm() {
  if (control_) {
    (void)control_->send_line("poweroff");
    (void)control_->read_line(5s);
  }
  if (qemu_ && !qemu_->wait(20s)) qemu_->signal(SIGKILL);
}

bool GuestVm::run_step(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  auto step = Process::spawn(argv);
  if (step.wait(limit) == 0) return true;
  failure_ = argv[0] + " failed:\n" + step.stderr_text();
  return false;
}

std::string GuestVm::control(const std::string& command) {
  if (!control_) return "error: no guest";
  if (!control_->send_line(command)) return "error: control port write failed";
  return control_->read_line(60s).value_or("error: no answer to " + command);
}

std::string GuestVm::console() const {
  std::ifstream file(dir_ / "console.log");
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

}  // namespace ktstats::test
