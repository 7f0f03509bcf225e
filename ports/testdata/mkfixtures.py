#!/usr/bin/env python3
"""mkfixtures.py starts the listeners that the ss/lsof fixtures of package ports
were taken from, prints their pids and ports, and waits until stdin closes.

It is not run by the tests: it documents how the real fixtures were made so that
they can be made again on another machine or a newer iproute2.

    setsid python3 mkfixtures.py traps  # every trap of machine-probes section 2.1
    setsid python3 mkfixtures.py many N # N listeners over a few processes (benchmark)

Then, while it runs:  ss -tlnpH > ss-traps.txt, ss -tlnp > ss-header.txt,
lsof -nP -iTCP -sTCP:LISTEN > lsof-linux.txt, lsof -nP -iTCP > lsof-linux-all.txt.
"""
import ctypes
import os
import signal
import socket
import sys

libc = ctypes.CDLL(None)
PR_SET_NAME = 15


def setname(name):
    # PR_SET_NAME sets comm, the name ss prints; the kernel truncates it to 15 bytes.
    libc.prctl(PR_SET_NAME, ctypes.c_char_p(name.encode()), 0, 0, 0)


def listener(fam, addr, port=0, v6only=None, dev=None, backlog=16, reuseport=False):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    if dev:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    s.bind((addr, port))
    s.listen(backlog)
    return s


children = []


def child(name, body):
    """child forks a process named name that runs body() and then sleeps."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        setname(name)
        keep = body()
        os.write(w, ("%s\n" % (keep[1] if isinstance(keep, tuple) else "")).encode())
        os.close(w)
        while True:
            signal.pause()
    os.close(w)
    info = os.read(r, 4096).decode().strip()
    os.close(r)
    children.append(pid)
    print(pid, repr(name), info, flush=True)
    return pid


def port_of(s):
    return s.getsockname()[1]


def traps():
    def one(fam, addr, **kw):
        def body():
            s = listener(fam, addr, **kw)
            return s, port_of(s)
        return body

    child("python3", one(socket.AF_INET, "127.0.0.1"))
    child("python3", one(socket.AF_INET, "0.0.0.0"))
    child("python3", one(socket.AF_INET6, "::", v6only=0))     # ss: *:p (dual-stack)
    child("python3", one(socket.AF_INET6, "::", v6only=1))     # ss: [::]:p
    child("python3", one(socket.AF_INET6, "::1"))
    child("python3", one(socket.AF_INET6, "::ffff:127.0.0.1", v6only=0))  # v4-mapped
    child("python3", one(socket.AF_INET, "127.0.0.1", dev="lo", backlog=1))
    child("python3", one(socket.AF_INET, "0.0.0.0", dev="lo", backlog=1))
    child("python3", one(socket.AF_INET6, "::", v6only=0, dev="lo", backlog=1))
    child("python3", one(socket.AF_INET6, "::1", dev="lo", backlog=1))

    # A prefork server: one socket inherited by two forks, so ss lists three pids.
    def prefork():
        s = listener(socket.AF_INET, "127.0.0.1", backlog=5)
        for _ in range(2):
            if os.fork() == 0:
                while True:
                    signal.pause()
        return s, port_of(s)
    child("python3", prefork)

    # Names that break a parser that reads the process name.
    for name in ["my app (v2)", 'a"b,c=d', "averyveryverylongname", 'x",pid=7,fd=9',
                 '),("",pid=8,fd=', "users:((", "  spaced  out ", "tab\tname"]:
        child(name, one(socket.AF_INET, "127.0.0.1", backlog=5))

    # One process, two listeners on the same port (v4 and v6 loopback) and one more port.
    def twin():
        a = listener(socket.AF_INET, "127.0.0.1")
        b = listener(socket.AF_INET6, "::1", port=port_of(a))
        c = listener(socket.AF_INET, "127.0.0.1")
        return (a, b, c), "%d %d" % (port_of(a), port_of(c))
    child("twin", twin)

    # SO_REUSEPORT: two processes, two sockets, one port.
    first = listener(socket.AF_INET, "127.0.0.1", reuseport=True)
    port = port_of(first)
    first.close()
    child("reuse1", one(socket.AF_INET, "127.0.0.1", port=port, reuseport=True))
    child("reuse2", one(socket.AF_INET, "127.0.0.1", port=port, reuseport=True))

    # An established connection, so lsof without -sTCP:LISTEN has non-LISTEN lines.
    def connected():
        srv = listener(socket.AF_INET, "127.0.0.1")
        cli = socket.create_connection(("127.0.0.1", port_of(srv)))
        conn, _ = srv.accept()
        return (srv, cli, conn), port_of(srv)
    child("conn", connected)


def many(n):
    per = 100
    for start in range(0, n, per):
        count = min(per, n - start)

        def body(count=count, start=start):
            fams = [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"),
                    (socket.AF_INET, "0.0.0.0")]
            socks = [listener(*fams[(start + i) % 3]) for i in range(count)]
            return socks, count
        child("server%d" % (start // per), body)


if __name__ == "__main__":
    if sys.argv[1] == "traps":
        traps()
    else:
        many(int(sys.argv[2]))
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        # The prefork grandchildren are not in children: end the whole process group.
        os.killpg(0, signal.SIGKILL)
