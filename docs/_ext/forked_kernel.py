"""Start each page's Jupyter kernel by forking a process that has already imported the heavy
libraries, instead of starting Python afresh.

Every executed page otherwise pays about two and a half seconds before its first cell runs:
a new Python, IPython and ipykernel, then NumPy, SymPy and Matplotlib. Here one *zygote* process
per build imports them once; a page's kernel is a fork of it, running the standard ipykernel
(``IPKernelApp``) in the page's folder with the build's environment. Each page still gets a
process of its own, so no state passes from page to page. The zygote also imports the project's
own modules (``derivations.*``, about 0.1–0.4 s of each page's CPU otherwise); it lives for one
build only, so a page always runs the modules as they were when its build started.

The pieces:

- the kernelspec ``kernels/python3-forked`` (found through ``JUPYTER_PATH``), whose tiny
  launcher (``launch.py``) asks the zygote for a kernel, forwards signals to it and exits with
  its exit code; myst-nb is pointed at it with ``nb_kernel_rgx_aliases``. Its arguments also
  set ``InlineBackend.print_figure_kwargs`` so that a figure is saved in one draw, without the
  second ``bbox_inches="tight"`` pass (every page's figures use constrained layout);
- :func:`zygote` (``python forked_kernel.py SOCKET``): accepts requests on a Unix socket, forks,
  reaps, and stops a kernel whose launcher has gone (e.g. killed after a timeout);
- the Sphinx hooks: the zygote starts as the extension loads (its imports overlap Sphinx's own
  start), is stopped before reading when no page is to be executed, and stops with the build.

If the zygote cannot be reached the launcher starts an ordinary kernel and says so on stderr.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
KERNEL_NAME = "python3-forked"
ENV_SOCKET = "DERIVATIONS_KERNEL_ZYGOTE"
ENV_FORKED = "DERIVATIONS_FORKED_KERNEL"  # set to "1" inside a forked kernel
PRELOAD = ("numpy", "sympy", "mpmath", "autograd", "matplotlib.pyplot", "IPython",
           "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
           "ipykernel.debugger", "sqlite3", "psutil", "tornado.ioloop")  # what a kernel imports as it starts


# ---- the zygote ------------------------------------------------------------------------------


def _child(request: dict) -> None:
    """In the forked process: become the page's kernel (never returns)."""
    code = 0
    try:
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ[ENV_FORKED] = "1"
        # parent_handle: no "connect another client" banner, and the kernel exits if the zygote dies
        sys.argv = ["ipykernel_launcher", *request["argv"], f"--IPKernelApp.parent_handle={os.getppid()}"]
        sys.path[0] = ""  # as `python -m ipykernel_launcher` has it
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        # the kernel talks to its own build over loopback: ipykernel's note that TCP is not
        # encrypted would only repeat, once a page, on the build's output
        app.log.addFilter(lambda record: "without encryption" not in record.getMessage())
        app.initialize()
        app.start()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report, then leave without running the zygote's code
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _preload_project() -> None:
    """Import the project's modules as they are at the start of this build (the zygote lives for
    one build only), so that no page pays for them again. A module that fails to import is left
    out: the page that imports it then fails with the real error, in its own cell."""
    try:
        from derivations import registry
    except Exception:  # noqa: BLE001 - the page reports it
        return
    for name in (*registry.names(), "figures", "pages", "checked"):
        try:
            __import__(f"derivations.{name}")
        except Exception:  # noqa: BLE001 - the page reports it
            pass


def zygote(path: str) -> None:
    """Serve kernel requests on the Unix socket ``path`` until the build (our parent) ends."""
    parent = os.getppid()
    stopping = []
    # while importing there is no kernel to look after: a SIGTERM (a build with nothing to
    # execute) ends the process at once instead of after the imports
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(32)  # launchers may connect now; they wait until the imports below are done
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy's note on frozen modules
    for name in PRELOAD:
        __import__(name)
    _preload_project()
    if threading.active_count() != 1:  # forking a process with other threads is not safe
        raise RuntimeError(f"kernel zygote: importing {PRELOAD} and the project's modules started threads: "
                           f"{threading.enumerate()}")
    # The imported libraries leave about 130,000 objects the garbage collector tracks, all living
    # as long as the kernel. Frozen, a kernel's collector never walks them again (it did on every
    # full pass: about 15 % of a page's CPU time, e.g. 20.1–20.5 s → 16.9–17.8 s for four topic pages
    # run as scripts), and a kernel's collections do not write to the pages it shares with us.
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))  # now: stop the kernels first
    # a kernel's exit (SIGCHLD) wakes the loop at once, so its launcher learns it without delay
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    sel.register(wake_r, selectors.EVENT_READ)
    kernels: dict[socket.socket, int] = {}

    def finish(conn, pid, code=None):
        if code is None:  # its launcher is gone: stop the kernel
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
        else:
            try:
                conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
            except OSError:
                pass
        sel.unregister(conn)
        conn.close()
        del kernels[conn]

    while not stopping and os.getppid() == parent:
        for key, _ in sel.select(timeout=0.5):
            if key.fileobj == wake_r:
                while True:
                    try:
                        if not os.read(wake_r, 512):
                            break
                    except BlockingIOError:
                        break
            elif key.fileobj is listener:
                conn, _ = listener.accept()
                try:
                    request = json.loads(conn.makefile("r").readline())
                except (OSError, ValueError):  # a launcher that went away before asking
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    sel.close()
                    for fd in (wake_r, wake_w):
                        os.close(fd)
                    listener.close()
                    conn.close()
                    _child(request)
                conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                kernels[conn] = pid
                sel.register(conn, selectors.EVENT_READ)
            else:
                try:
                    gone = not key.fileobj.recv(64)
                except OSError:
                    gone = True
                if gone:  # the launcher ended (e.g. killed after a timeout): so does its kernel
                    finish(key.fileobj, kernels[key.fileobj])
        for conn, pid in list(kernels.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                finish(conn, pid, os.waitstatus_to_exitcode(status))
    for conn, pid in list(kernels.items()):
        finish(conn, pid)
    listener.close()


# ---- the Sphinx side -------------------------------------------------------------------------

_running: dict = {}


def _executes(env, docname: str) -> bool:
    path = Path(env.doc2path(docname))
    return path.suffix == ".ipynb" or "file_format: mystnb" in path.read_text(encoding="utf-8")[:500]


def _spawn() -> None:
    """Start the zygote (its imports then run while Sphinx itself is still starting)."""
    if _running:
        return
    folder = tempfile.mkdtemp(prefix="kernel-zygote-")
    path = os.path.join(folder, "socket")
    proc = subprocess.Popen([sys.executable, __file__, path])
    _running.update(proc=proc, path=path, folder=folder, pid=os.getpid())
    os.environ[ENV_SOCKET] = path
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(HERE), os.environ.get("JUPYTER_PATH")]))
    atexit.register(_stop)


def _needed(app, env, docnames):
    """Keep the zygote only when pages are to be executed."""
    if app.config.nb_execution_mode != "off" and any(_executes(env, d) for d in docnames):
        _spawn()
    else:
        _stop()


def _stop(*_):
    if not _running or _running["pid"] != os.getpid():
        return
    proc = _running["proc"]
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    for name in (_running["path"], _running["folder"]):
        try:
            os.rmdir(name) if name == _running["folder"] else os.unlink(name)
        except OSError:
            pass
    os.environ.pop(ENV_SOCKET, None)
    _running.clear()


def setup(app):
    # Started here, early (list this extension first), and stopped before reading if no page is
    # to be executed: its imports take about as long as Sphinx's own start, on the other core.
    _spawn()
    app.connect("env-before-read-docs", _needed)
    app.connect("build-finished", _stop)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    zygote(sys.argv[1])
