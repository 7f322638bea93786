"""A PEP 517 build backend for the shmkit Python package, standard library only.

It exists so that ``pip install ./python`` needs nothing from a package index: pip's
isolated build environment installs ``build-system.requires`` (empty here) and then
calls these hooks. The wheel is pure Python: the ``shmkit`` package, its METADATA,
WHEEL and RECORD files. Editable installs (``pip install -e``) add a ``.pth`` file
pointing at this directory.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "shmkit"
_TAG = "py3-none-any"


def _project() -> dict:
    text = open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8").read()
    section = text.split("[project]", 1)[1].split("\n[", 1)[0]

    def field(key: str) -> str:
        m = re.search(rf'^{key}\s*=\s*"([^"]*)"', section, re.M)
        if not m:
            raise RuntimeError(f"pyproject.toml: [project].{key} is missing")
        return m.group(1)

    return {"name": field("name"), "version": field("version"), "summary": field("description"), "requires_python": field("requires-python")}


def _metadata(p: dict) -> str:
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {p['name']}\nVersion: {p['version']}\nSummary: {p['summary']}\n"
        f"Requires-Python: {p['requires_python']}\nLicense: MIT\n"
        "Provides-Extra: numpy\nRequires-Dist: numpy; extra == \"numpy\"\n"
        "Description-Content-Type: text/markdown\n\n" + readme
    )


def _files():
    base = os.path.join(ROOT, PACKAGE)
    for directory, dirs, names in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith(".py") or name == "py.typed":
                full = os.path.join(directory, name)
                yield full, os.path.relpath(full, ROOT).replace(os.sep, "/")


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _wheel(directory: str, entries: list) -> str:
    p = _project()
    dist = f"{p['name']}-{p['version']}"
    info = f"{dist}.dist-info"
    entries = entries + [
        (f"{info}/METADATA", _metadata(p).encode()),
        (f"{info}/WHEEL", f"Wheel-Version: 1.0\nGenerator: shmkit-backend\nRoot-Is-Purelib: true\nTag: {_TAG}\n".encode()),
    ]
    record = [_record_line(name, data) for name, data in entries] + [f"{info}/RECORD,,"]
    entries.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    filename = f"{dist}-{_TAG}.whl"
    with zipfile.ZipFile(os.path.join(directory, filename), "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)
    return filename


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, [(rel, open(full, "rb").read()) for full, rel in _files()])


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, [("_shmkit_editable.pth", (ROOT + "\n").encode())])


def build_sdist(sdist_directory, config_settings=None):
    p = _project()
    dist = f"{p['name']}-{p['version']}"
    filename = f"{dist}.tar.gz"
    paths = ["pyproject.toml", "README.md", "_build/backend.py"] + [rel for _, rel in _files()]
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for rel in paths:
            data = open(os.path.join(ROOT, rel), "rb").read()
            ti = tarfile.TarInfo(f"{dist}/{rel}")
            ti.size, ti.mtime, ti.mode = len(data), 0, 0o644
            tf.addfile(ti, io.BytesIO(data))
        meta = _metadata(p).encode()
        ti = tarfile.TarInfo(f"{dist}/PKG-INFO")
        ti.size, ti.mtime, ti.mode = len(meta), 0, 0o644
        tf.addfile(ti, io.BytesIO(meta))
    return filename


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []
