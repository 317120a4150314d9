"""Importing newswatch does nothing but define things: no metric registered, no rule file read, no broker called."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib

from tests.conftest import ROOT


def test_importing_every_module_registers_no_metric_reads_no_rule_and_contacts_no_broker() -> None:
    # A fresh interpreter: what this test process imported before must not hide an import-time effect.
    probe = textwrap.dedent(
        """
        import builtins, importlib, io, pkgutil, socket, sys
        from pathlib import Path
        from prometheus_client import REGISTRY

        before = set(REGISTRY._names_to_collectors)
        opened, connected = [], []
        real_open, real_connect = builtins.open, socket.socket.connect
        io_open = io.open

        def spy_open(file, *args, **kwargs):
            opened.append(str(file))
            return real_open(file, *args, **kwargs)

        def spy_connect(self, address):
            connected.append(address)
            return real_connect(self, address)

        builtins.open, io.open = spy_open, spy_open
        real_read_text = Path.read_text

        def spy_read_text(self, *args, **kwargs):  # rule and feed files are read with it
            opened.append(str(self))
            return real_read_text(self, *args, **kwargs)

        Path.read_text = spy_read_text
        socket.socket.connect = spy_connect
        names = []
        for package in PACKAGES:
            module = importlib.import_module(package)
            names.append(package)
            for found in pkgutil.iter_modules(module.__path__, package + "."):
                if not found.ispkg and not found.name.endswith("__main__"):  # __main__ runs the command
                    importlib.import_module(found.name)
                    names.append(found.name)
        assert {"newswatch.agents.classify", "newswatch.streams.app", "newswatch.poller.run"} <= set(names)
        registered = set(REGISTRY._names_to_collectors) - before
        yaml = [f for f in opened if f.endswith((".yaml", ".yml"))]
        print(f"modules={len(names)} registered={sorted(registered)} yaml={yaml} connected={connected}")
        assert not registered and not yaml and not connected
        """
    )
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    probe = f"PACKAGES = {packages!r}\n" + probe
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "registered=[] yaml=[] connected=[]" in done.stdout
