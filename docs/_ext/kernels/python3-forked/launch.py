"""Launcher of the python3-forked kernel (see docs/_ext/forked_kernel.py).

Jupyter starts this small process as "the kernel": it asks the build's zygote to fork a kernel
with this process's folder, environment and arguments, forwards the signals Jupyter sends, and
exits with the kernel's exit code. Without a zygote it becomes an ordinary ipykernel.
"""

import json
import os
import signal
import socket
import sys


def ordinary_kernel(why: str) -> None:
    print(f"python3-forked: {why}; starting an ordinary kernel", file=sys.stderr)
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *sys.argv[1:]])


def main() -> int:
    path = os.environ.get("DERIVATIONS_KERNEL_ZYGOTE")
    if not path:
        ordinary_kernel("no zygote for this build")
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError as exc:
        ordinary_kernel(f"cannot reach the zygote at {path} ({exc})")
    request = {"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}
    conn.sendall(json.dumps(request).encode() + b"\n")
    answers = conn.makefile("r")
    pid = json.loads(answers.readline())["pid"]
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, lambda signum, _frame: os.kill(pid, signum))
    line = answers.readline()  # the kernel's exit code, once it has ended
    return json.loads(line)["exit"] if line else 1


if __name__ == "__main__":
    sys.exit(main())
