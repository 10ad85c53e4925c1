"""Shared helpers of the side-by-side measurement scripts (ttl-memory, idle-conns,
growth-latency): start a server with persistence off, speak RESP over raw sockets, read the
resident memory, time requests one by one.

Not a script itself; the scripts import it from their own directory.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time


def encode(argv):
    out = [b"*%d\r\n" % len(argv)]
    for a in argv:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def settle(pid, quiet_kb=64, step=0.25, tries=20):
    """Waits until the resident size stops moving (lazy frees, background rehash); returns it."""
    last = rss_kb(pid)
    for _ in range(tries):
        time.sleep(step)
        now = rss_kb(pid)
        if abs(now - last) < quiet_kb:
            return now
        last = now
    return last


class Server:
    """A server process on `port`, persistence off, its log in a scratch directory."""

    def __init__(self, binary, port, pin_cpu=None, extra=()):
        self.work = tempfile.mkdtemp(prefix="rrs-bench-")
        self.port = port
        argv = [binary, "--port", str(port), "--save", "", "--appendonly", "no",
                "--dir", self.work, "--daemonize", "no",
                "--logfile", os.path.join(self.work, "log"),
                "--enable-debug-command", "local", *extra]
        if pin_cpu is not None:
            argv = ["taskset", "-c", str(pin_cpu)] + argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{binary} did not start on port {port}: {self.log()[-500:]}")

    @property
    def pid(self):
        return self.proc.pid

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def log(self):
        try:
            with open(os.path.join(self.work, "log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Conn:
    """A RESP connection reading one-line replies and bulk strings (enough for these
    scripts: status, integers, errors, bulk)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self):
        i = self.buf.find(b"\r\n")
        while i < 0:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("server closed the connection")
            self.buf += chunk
            i = self.buf.find(b"\r\n")
        line, self.buf = self.buf[:i], self.buf[i + 2:]
        return line

    def reply(self):
        line = self._line()
        if line[:1] == b"$" and line != b"$-1":
            n = int(line[1:])
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    raise RuntimeError("server closed the connection")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if line[:1] == b"-":
            raise RuntimeError(line.decode(errors="replace"))
        return line

    def call(self, *argv):
        self.sock.sendall(encode(argv))
        return self.reply()

    def info_field(self, section, name):
        for line in self.call("INFO", section).decode().splitlines():
            if line.startswith(name + ":"):
                return line.split(":", 1)[1]
        return None


def percentiles(samples_ns, points=(50, 99, 99.9)):
    """Returns {point: microseconds} and the max, from per-request latencies in ns."""
    s = sorted(samples_ns)
    if not s:
        return {p: 0.0 for p in points}, 0.0
    out = {}
    for p in points:
        k = min(len(s) - 1, int(len(s) * p / 100))
        out[p] = s[k] / 1000
    return out, s[-1] / 1000


def timed_requests(sock, payloads, stop=None):
    """Sends each payload (one request, one-line reply expected) and waits for its reply;
    returns the per-request latencies in ns. Stops early when `stop()` turns true."""
    lat = []
    clock = time.perf_counter_ns
    recv = sock.recv
    for i, p in enumerate(payloads):
        if stop is not None and (i & 255) == 0 and stop():
            break
        t0 = clock()
        sock.sendall(p)
        data = recv(4096)
        while not data.endswith(b"\r\n"):
            more = recv(4096)
            if not more:
                raise RuntimeError("server closed the connection")
            data += more
        lat.append(clock() - t0)
    return lat
