#!/usr/bin/python3
"""An scx_stats server that answers from files: stats_meta with one JSON
text, stats with another, both sent as written (so they may hold what a
hostile guest would send, such as 1e400). Any other request gets errno 22,
as upstream's server answers one it does not know. Serves every connection
on a thread of its own until stopped.

As a program: scripted_scx_server.py SOCKET META_FILE STATS_FILE; prints
"ready SOCKET" on stderr once listening, runs until SIGTERM or SIGINT."""
import json
import os
import signal
import socket
import sys
import threading

LINE_CAP = 256 * 1024


def compact(text):
    """The JSON text on one line, its values as written (json.loads would
    turn 1e400 into inf, which json.dumps writes as Infinity)."""
    return " ".join(text.split("\n"))


class ScriptedServer:
    def __init__(self, path, meta_text, stats_text):
        self.answers = {"stats_meta": compact(meta_text), "stats": compact(stats_text)}
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(16)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def stop(self):
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _answer(self, line):
        try:
            request = json.loads(line)
            resp = self.answers.get(request.get("req"))
        except (ValueError, AttributeError):
            resp = None
        if resp is None:
            return json.dumps({"errno": 22, "args": {"resp": "Invalid argument (os error 22)"}})
        return '{"errno":0,"args":{"resp":' + resp + "}}"

    def _serve(self, connection):
        with connection:
            pending = b""
            while True:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                pending += chunk
                if len(pending) > LINE_CAP:
                    return
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    connection.sendall(self._answer(line.decode(errors="replace")).encode() + b"\n")


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 64
    path, meta_file, stats_file = sys.argv[1:]
    with open(meta_file) as meta, open(stats_file) as stats:
        server = ScriptedServer(path, meta.read(), stats.read())
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"ready {path}", file=sys.stderr, flush=True)
    stop.wait()
    server.stop()
    os.unlink(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
