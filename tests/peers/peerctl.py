#!/usr/bin/env python3
"""Start and stop one uwsgi peer on 127.0.0.1, in its own directory (standard library only).

  peerctl.py start PEER --dir DIR --port PORT [--upstream PORT] [--app appview] [--timeout S]
  peerctl.py stop --dir DIR
  peerctl.py cmd PEER --dir DIR --port PORT [--upstream PORT] [--app appview]   (print only)
  peerctl.py list

`start` renders the peer's config template (tests/peers/conf/, placeholders @DIR@, @PORT@,
@UPSTREAM@) into DIR, starts the peer in the foreground of a new session with stdout and stderr
in DIR/log, writes its PID to DIR/pid, and returns once 127.0.0.1:PORT accepts a connection
(or fails after --timeout seconds, default 10, having stopped it). `stop` sends SIGTERM to that
PID, waits up to 5 s, then SIGKILLs that PID's own process group (start made it a group leader).
Nothing is daemonised, nothing reads a system config, every file is in DIR, and every socket is
on 127.0.0.1. Application servers (the `app` kind) serve tests/peers/APP.py (default appview;
the gunicorn-asgi worker uses APP_asgi.py) speaking uwsgi on PORT; front ends (the `front` kind)
listen for HTTP on PORT and send uwsgi to 127.0.0.1:UPSTREAM. The peers are installed by
.ci/install-peers; see tests/peers/README.md.
"""
import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GUNICORN_VENV = os.path.join(ROOT, "target", "peer-venv-gunicorn")
PYUWSGI = os.path.join(ROOT, "target", "peer-venv-pyuwsgi", "bin", "uwsgi")


def _uwsgi_app(binary, plugin):
    def cmd(a):
        return [binary, *plugin, "--socket", "127.0.0.1:%d" % a.port,
                "--wsgi-file", os.path.join(HERE, a.app + ".py"), "--need-app",
                "--master", "--processes", "1", "--buffer-size", "65535",
                "--die-on-term", "--chdir", a.dir, "--pidfile", os.path.join(a.dir, "uwsgi.pid")]
    return cmd


def _uwsgi_router(binary, plugin):
    def cmd(a):
        return [binary, *plugin, "--http", "127.0.0.1:%d" % a.port,
                "--http-to", "127.0.0.1:%d" % a.upstream, "--master", "--die-on-term",
                "--buffer-size", "65535", "--chdir", a.dir,
                "--pidfile", os.path.join(a.dir, "uwsgi.pid")]
    return cmd


def _gunicorn(worker):
    def cmd(a):
        app = a.app + ("_asgi" if worker == "asgi" else "") + ":application"
        extra = ["--threads", "4"] if worker == "gthread" else []
        return [os.path.join(GUNICORN_VENV, "bin", "gunicorn"), "--protocol", "uwsgi",
                "-k", worker, *extra, "-w", "1", "-b", "127.0.0.1:%d" % a.port,
                "--chdir", HERE, "--pid", os.path.join(a.dir, "gunicorn.pid"),
                "--worker-tmp-dir", a.dir, "--no-control-socket", "--log-level", "debug",
                "--access-logfile", "-", app]
    return cmd


PEERS = {
    # name: (kind, template or None, command builder)
    "uwsgi": ("app", None, _uwsgi_app("/usr/bin/uwsgi", ["--plugin", "python3"])),
    "pyuwsgi": ("app", None, _uwsgi_app(PYUWSGI, [])),
    "gunicorn-sync": ("app", None, _gunicorn("sync")),
    "gunicorn-gthread": ("app", None, _gunicorn("gthread")),
    "gunicorn-asgi": ("app", None, _gunicorn("asgi")),
    "nginx": ("front", "nginx.conf", lambda a: [
        "/usr/sbin/nginx", "-p", a.dir + "/", "-c", os.path.join(a.dir, "nginx.conf"),
        "-e", os.path.join(a.dir, "error.log")]),
    "apache": ("front", "apache2.conf", lambda a: [
        "/usr/sbin/apache2", "-d", a.dir, "-f", os.path.join(a.dir, "apache2.conf"),
        "-DFOREGROUND"]),
    "lighttpd": ("front", "lighttpd.conf", lambda a: [
        "/usr/sbin/lighttpd", "-D", "-f", os.path.join(a.dir, "lighttpd.conf")]),
    "uwsgi-http": ("front", None, _uwsgi_router("/usr/bin/uwsgi", ["--plugin", "http"])),
    "pyuwsgi-http": ("front", None, _uwsgi_router(PYUWSGI, [])),
    "uwsgi-proxy": ("front", None, lambda a: [
        os.path.join(GUNICORN_VENV, "bin", "uwsgi_proxy"), "127.0.0.1:%d" % a.upstream,
        "-l", "127.0.0.1:%d" % a.port]),
}


def render(name, a):
    kind, template, build = PEERS[name]
    if kind == "front" and not a.upstream:
        sys.exit("peerctl: %s is a front end: --upstream PORT is required" % name)
    os.makedirs(os.path.join(a.dir, "tmp"), exist_ok=True)
    if template:
        with open(os.path.join(HERE, "conf", template)) as f:
            text = f.read()
        text = (text.replace("@DIR@", a.dir).replace("@PORT@", str(a.port))
                .replace("@UPSTREAM@", str(a.upstream or 0)))
        with open(os.path.join(a.dir, template), "w") as f:
            f.write(text)
    return build(a)


def listening(port, timeout=0.2):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        wpid, _ = os.waitpid(pid, os.WNOHANG)
        return wpid == 0
    except ChildProcessError:
        return True


def stop(directory):
    path = os.path.join(directory, "pid")
    try:
        with open(path) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        print("peerctl: no pid file in %s" % directory, file=sys.stderr)
        return 1
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):  # 5 s
            if not alive(pid):
                break
            time.sleep(0.1)
    try:  # whatever is left of its own session's group (start made pid the group leader)
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    os.remove(path)
    return 0


def start(name, a):
    argv = render(name, a)
    if listening(a.port):
        sys.exit("peerctl: 127.0.0.1:%d is already in use" % a.port)
    log = open(os.path.join(a.dir, "log"), "ab")
    proc = subprocess.Popen(argv, cwd=a.dir, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    with open(os.path.join(a.dir, "pid"), "w") as f:
        f.write("%d\n" % proc.pid)
    deadline = time.monotonic() + a.timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if listening(a.port):
            # gunicorn and uWSGI accept before the app is imported; give them a moment
            time.sleep(0.3 if PEERS[name][0] == "app" else 0.05)
            print("peerctl: %s pid %d on 127.0.0.1:%d (dir %s)" % (name, proc.pid, a.port, a.dir))
            return 0
        time.sleep(0.1)
    stop(a.dir)
    with open(os.path.join(a.dir, "log"), errors="replace") as f:
        tail = f.read()[-2000:]
    sys.exit("peerctl: %s did not listen on 127.0.0.1:%d within %.0fs\n%s"
             % (name, a.port, a.timeout, tail))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("action", choices=["start", "stop", "cmd", "list"])
    ap.add_argument("peer", nargs="?", choices=sorted(PEERS))
    ap.add_argument("--dir", help="the peer's own directory (created if missing)")
    ap.add_argument("--port", type=int, help="listen port on 127.0.0.1")
    ap.add_argument("--upstream", type=int, help="front ends: the uwsgi upstream port")
    ap.add_argument("--app", default="appview", help="tests/peers/APP.py (default appview)")
    ap.add_argument("--timeout", type=float, default=10.0)
    a = ap.parse_args()
    if a.action == "list":
        for name, (kind, _, _) in PEERS.items():
            print("%-17s %s" % (name, "application server" if kind == "app" else "front end"))
        return 0
    if not a.dir:
        ap.error("--dir is required")
    a.dir = os.path.abspath(a.dir)
    if a.action == "stop":
        return stop(a.dir)
    if not a.peer or not a.port:
        ap.error("PEER and --port are required")
    if a.action == "cmd":
        print(" ".join(shlex.quote(x) for x in render(a.peer, a)))
        return 0
    return start(a.peer, a)


if __name__ == "__main__":
    sys.exit(main())
