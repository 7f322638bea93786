"""Shared by the tests: unique names, a child Python running a snippet, cleanup by exact name."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

try:
    import _posixshmem
except ImportError:  # pragma: no cover
    _posixshmem = None

_made = []


def unique(tag: str) -> str:
    name = f"shmkit_pytest_{tag}_{os.getpid()}_{secrets.token_hex(3)}"
    _made.append(name)
    return name


def exists(name: str) -> bool:
    return os.path.exists(f"/dev/shm/{name}")


def cleanup() -> None:
    """Unlinks every name this test process generated, if still there (never by prefix)."""
    for name in _made:
        try:
            _posixshmem.shm_unlink("/" + name)
        except (FileNotFoundError, AttributeError):
            pass
    _made.clear()


def child(code: str, *args: str, wait: bool = True, timeout: float = 30):
    """Runs ``code`` in a new interpreter (this one) with shmkit importable; returns the CompletedProcess or Popen."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    cmd = [sys.executable, "-c", code, *args]
    if not wait:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
