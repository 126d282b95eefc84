"""A real distribution registry (Debian's docker-registry) on 127.0.0.1, for the pull-by-digest path."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

from archsmoke.host.engine import Engine


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LoopbackRegistry:
    def __init__(self, root: Path):
        self.root = root
        self.port = _free_port()
        self.host = f"127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)
        config = root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: info\n  accesslog:\n    disabled: false\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.host}\n"
        )
        # The engines pull over TLS unless told a registry is plain HTTP: say so for this one only.
        self.registries_conf = root / "registries.conf"
        self.registries_conf.write_text(f'[[registry]]\nlocation = "{self.host}"\ninsecure = true\n')
        self.pulled_refs: list[str] = []
        self.log = root / "registry.log"
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(["docker-registry", "serve", str(config)],
                                        stdout=self._log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.close()
        raise RuntimeError(f"docker-registry did not start: {self.log.read_text()[-2000:]}")

    def push(self, engine: Engine, source: str, name: str) -> str:
        """Push a local image; returns name@sha256:... in this registry."""
        destination = f"{self.host}/{name}:pushed"
        if engine.name == "podman":
            digest_file = self.root / f"{name.replace('/', '_')}.digest"
            engine.run("push", "--tls-verify=false", "--digestfile", str(digest_file), source, destination, timeout=600)
            digest = digest_file.read_text().strip()
        else:  # docker treats registries on 127.0.0.0/8 as plain HTTP by itself, and prints the digest
            engine.run("tag", source, destination)
            pushed = engine.run("push", destination, timeout=600).stdout.decode()
            digest = re.search(r"digest: (sha256:[0-9a-f]{64})", pushed).group(1)
            engine.run("rmi", destination, check=False)
        ref = f"{self.host}/{name}@{digest}"
        self.pulled_refs.append(ref)
        return ref

    def forget(self, engine: Engine) -> None:
        """Remove this registry's images from the engine's store (each test's registry has its own port)."""
        for ref in self.pulled_refs:
            engine.run("rmi", "--force", ref, check=False)

    def requests(self) -> str:
        return self.log.read_text(errors="replace")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log_file.close()
