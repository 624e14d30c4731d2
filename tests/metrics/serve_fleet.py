"""`ktstats serve` with its metrics endpoint in front of VMs without VMs, for
the metrics scripts and bench/metrics: each VM is a stand-in VMM (a bridge
between the host's socket and the relay's --port socket, as
tests/support/vmm_bridge does it), ktstats-relay on its guest side and a
scheduler behind the relay (upstream's example server, the fake scheduler
or a scripted server). Every child runs in a process group of its own and
is killed when the fleet closes, or at exit.

Until serve has --metrics-listen, StandInExporter serves the same shape of
/metrics from serve's per-VM sockets (`ktstats stats --format prometheus`
through each, a vm label added, ktstats_up per VM), so the Prometheus side
of the tests can be proven against the real relays and schedulers."""
import atexit
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SKIPPED = 77
# serve's line saying where /metrics listens: the address in a line that
# mentions metrics.
METRICS_ADDRESS = re.compile(r"(?:https?://)?(?<![\d.])(\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]+\]):(\d+)")

_groups = set()


def _kill_all():
    for pgid in list(_groups):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
    _groups.clear()


atexit.register(_kill_all)


def upstream_dir():
    """../shared/upstream from the project root; KTSTATS_UPSTREAM overrides it."""
    return os.environ.get("KTSTATS_UPSTREAM") or os.path.join(ROOT, "..", "shared", "upstream")


def skip_now(reason):
    """Exits 77, the tests' skipped status, saying why."""
    print(f"skipped: {reason}")
    sys.exit(SKIPPED)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Child:
    """A process in a group of its own; its stdout and stderr lines are
    collected by threads so that a test can wait for one, bounded."""

    def __init__(self, argv, stdin=subprocess.DEVNULL, env=None):
        self.argv = argv
        self.process = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, start_new_session=True, env=env)
        _groups.add(self.process.pid)
        self.lines = {"stdout": [], "stderr": []}
        self.changed = threading.Condition()
        for name in self.lines:
            threading.Thread(target=self._collect, args=(name,), daemon=True).start()

    def _collect(self, name):
        for raw in getattr(self.process, name):
            with self.changed:
                self.lines[name].append(raw.decode(errors="replace").rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines[name].append(None)  # the stream ended
            self.changed.notify_all()

    def wait_for(self, stream, pattern, deadline):
        """The first match of pattern in a line of the stream, or an error
        saying what was read, at the deadline or when the stream ends."""
        regex = re.compile(pattern)
        with self.changed:
            while True:
                for line in self.lines[stream]:
                    if line is None:
                        raise RuntimeError(f"{self.argv[0]}: {stream} ended before /{pattern}/: "
                                           f"{self.text()}")
                    match = regex.search(line)
                    if match:
                        return match
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.argv[0]}: no /{pattern}/ in time: {self.text()}")
                self.changed.wait(left)

    def text(self):
        with self.changed:
            return "\n".join(line for name in ("stdout", "stderr") for line in self.lines[name]
                             if line is not None)[-4000:]

    def stop(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass
        self.process.wait()
        _groups.discard(self.process.pid)


class VmmBridge:
    """Stands in for a VMM's console port: one host client at a time on
    host_path, the relay's --port connection on guest_path, bytes copied
    between them; the guest's connection is closed when the host leaves."""

    def __init__(self, host_path, guest_path):
        self.host_listener = self._listen(host_path)
        self.guest_listener = self._listen(guest_path)
        self.stop_reader, self.stop_writer = socket.socketpair()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _listen(path):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(8)
        return listener

    def close(self):
        self.stop_writer.send(b"x")
        self.thread.join(10)
        for s in (self.host_listener, self.guest_listener, self.stop_reader, self.stop_writer):
            s.close()

    def _run(self):
        host = guest = None
        selector = selectors.DefaultSelector()
        while True:
            selector = selectors.DefaultSelector()
            selector.register(self.stop_reader, selectors.EVENT_READ, "stop")
            if host is None:
                selector.register(self.host_listener, selectors.EVENT_READ, "host-accept")
            if guest is None:
                selector.register(self.guest_listener, selectors.EVENT_READ, "guest-accept")
            else:
                # Like QEMU, nothing is taken from the host while no guest
                # has the port open.
                if host is not None:
                    selector.register(host, selectors.EVENT_READ, "host")
                selector.register(guest, selectors.EVENT_READ, "guest")
            events = selector.select()
            selector.close()
            for key, _ in events:
                if key.data == "stop":
                    for s in (host, guest):
                        if s is not None:
                            s.close()
                    return
                if key.data == "host-accept":
                    host = self.host_listener.accept()[0]
                elif key.data == "guest-accept":
                    guest = self.guest_listener.accept()[0]
                elif key.data == "host" and host is not None and guest is not None:
                    if not self._pump(host, guest):
                        host.close()
                        guest.close()
                        host = guest = None  # the guest reads EOF: its host left
                elif key.data == "guest" and guest is not None:
                    if not self._pump(guest, host):
                        guest.close()
                        guest = None

    @staticmethod
    def _pump(source, sink):
        try:
            data = source.recv(65536)
        except OSError:
            return False
        if not data:
            return False
        if sink is not None:
            try:
                sink.sendall(data)
            except OSError:
                pass
        return True


def built(build_dir, name):
    paths = {"ktstats": "host-cli/ktstats", "ktstats-relay": "guest-relay/ktstats-relay",
             "fake-scheduler": "tests/fake-scheduler"}
    path = os.path.join(build_dir, paths[name])
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"{path} not built")
    return path


class Fleet:
    """VMs behind relays and stand-in VMMs, and serve in front of them."""

    def __init__(self, build_dir, deadline):
        self.build_dir = build_dir
        self.deadline = deadline
        self.dir = tempfile.TemporaryDirectory(prefix="ktstats-metrics-")
        self.children = []
        self.bridges = []
        self.vms = {}
        self.serve = None
        self.metrics_url = None
        self.exporter = None

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def spawn(self, argv, **kwargs):
        child = Child(argv, **kwargs)
        self.children.append(child)
        return child

    def add_vm(self, name, scheduler):
        """scheduler: ("upstream", None), ("fake", [args]) or
        ("scripted", (meta_text, stats_text))."""
        stats_socket = self.path(f"{name}-stats")
        kind, arg = scheduler
        if kind == "upstream":
            program = os.path.join(upstream_dir(), "scx_stats", "bin", "server")
            # It exits when its stdin ends: the pipe stays open until the end.
            child = self.spawn([program, stats_socket], stdin=subprocess.PIPE)
            child.wait_for("stdout", "Server listening", self.deadline)
        elif kind == "fake":
            child = self.spawn([built(self.build_dir, "fake-scheduler"), "--socket", stats_socket, *arg])
            child.wait_for("stdout", "^ready", self.deadline)
        else:
            sys.path.insert(0, os.path.join(ROOT, "tests", "cli"))
            from scripted_scx_server import ScriptedServer
            server = ScriptedServer(stats_socket, *arg)
            self.children.append(server)
        vmm_socket, port_socket = self.path(f"{name}-vmm"), self.path(f"{name}-port")
        self.bridges.append(VmmBridge(vmm_socket, port_socket))
        relay = self.spawn([built(self.build_dir, "ktstats-relay"), "--port", port_socket,
                            "--socket", stats_socket, "--log-level", "warn"])
        self.vms[name] = {"vmm": vmm_socket, "relay": relay}

    def stop_relay(self, name):
        self.vms[name]["relay"].stop()

    def serve_has_metrics(self):
        result = subprocess.run([built(self.build_dir, "ktstats"), "serve", "--help"],
                                capture_output=True, text=True, timeout=30)
        return "--metrics-listen" in result.stdout

    def start_serve(self, extra=(), stand_in=False):
        """serve for every VM added, waited for until connected to each;
        metrics_url is where /metrics answers (serve's own, or the
        stand-in's when stand_in)."""
        argv = [built(self.build_dir, "ktstats"), "serve", "--runtime-dir", self.path("run")]
        for name, vm in self.vms.items():
            argv += ["--vm", f"{name}=unix:{vm['vmm']}"]
        if not stand_in:
            argv += ["--metrics-listen", "127.0.0.1:0", *extra]
        self.serve = self.spawn(argv)
        for name in self.vms:
            self.serve.wait_for("stderr", re.escape(name) + ": connected to", self.deadline)
        if stand_in:
            self.exporter = StandInExporter(self)
            self.metrics_url = f"http://127.0.0.1:{self.exporter.port}/metrics"
        else:
            match = self.serve.wait_for("stderr", r"(?i)metrics.*?" + METRICS_ADDRESS.pattern,
                                        self.deadline)
            self.metrics_url = f"http://{match[1]}:{match[2]}/metrics"

    def vm_socket(self, name):
        return os.path.join(self.path("run"), name, "stats")

    def close(self):
        if self.exporter is not None:
            self.exporter.close()
        for child in reversed(self.children):
            child.stop()
        for bridge in self.bridges:
            bridge.close()
        self.dir.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()


def get(url, accept=None, timeout=10):
    """(status, content type, body text) of a GET."""
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.status, answer.headers.get("Content-Type", ""), answer.read().decode()


class StandInExporter:
    """/metrics in the shape serve's will have, made from serve's per-VM
    sockets: each VM's `ktstats stats --format prometheus` with vm="NAME"
    added to every sample, and ktstats_up{vm} (1 when it answered)."""

    def __init__(self, fleet):
        import http.server
        self.fleet = fleet
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/metrics":
                    self.send_error(404)
                    return
                body = exporter.exposition().encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the scraper gave up on this one

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def exposition(self):
        from prometheus_client.parser import text_string_to_metric_families
        lines = ["# TYPE ktstats_up gauge",
                 "# HELP ktstats_up 1 when the last scrape of the VM got an answer"]
        families = {}
        up = {}
        results = {}

        def scrape(name):
            results[name] = subprocess.run(
                [built(self.fleet.build_dir, "ktstats"), "stats", "--format", "prometheus",
                 "-c", "scx:" + self.fleet.vm_socket(name), "--timeout", "400ms"],
                capture_output=True, text=True, timeout=10)

        # Concurrently, as serve scrapes its VMs.
        threads = [threading.Thread(target=scrape, args=(name,)) for name in self.fleet.vms]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for name in self.fleet.vms:
            result = results[name]
            up[name] = int(result.returncode == 0)
            if result.returncode != 0:
                continue
            for family in text_string_to_metric_families(result.stdout):
                entry = families.setdefault(family.name, (family.type, family.documentation, []))
                entry[2].extend((s.name, dict(s.labels, vm=name), s.value) for s in family.samples)
        from prometheus_client.utils import floatToGoString
        lines += [f'ktstats_up{{vm="{name}"}} {value}' for name, value in up.items()]
        for family, (kind, documentation, samples) in families.items():
            help_text = documentation.replace("\\", "\\\\").replace("\n", "\\n")
            lines += [f"# TYPE {family} {kind}", f"# HELP {family} {help_text}"]
            for sample, labels, value in samples:
                text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
                lines.append(f"{sample}{{{text}}} {floatToGoString(value)}")
        return "\n".join(lines) + "\n"


def _escape(label_value):
    return label_value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
