"""Fixtures of the uv smoke suite: the product it tests, a package index of the session's own, and uv's
environment in the target."""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from packaging.version import Version

from archsmoke import UV, harness_errors
from demo_packages import build_demo_packages
from pkgindex import PackageIndex, index_tree
from platform_wheels import build_native_wheels, build_platform_wheels
from tls_chains import TRUSTED, UNTRUSTED, WITHOUT_INTERMEDIATE, ServedChain, make_chain

CA_IN_TARGET = "/etc/archsmoke-ca.pem"
CA_DIR_IN_TARGET = "/etc/archsmoke-ca"


@pytest.fixture(scope="session")
def archsmoke_product():
    return UV


# Session-scoped (one per arch), so the binary is fetched and checked before the session's index is built.
@pytest.fixture(scope="session")
def uv_binary(archsmoke, arch_target):
    """The uv build chosen for this arch (checked, not installed)."""
    with harness_errors():
        return archsmoke.binary_for(arch_target, UV)


@pytest.fixture(scope="session")
def uv(archsmoke, target, uv_binary):
    """uv installed in the target: uv.command("--version"), uv.env, uv.bin_dir."""
    with harness_errors():
        return archsmoke.installed(target, UV)


@dataclass(frozen=True)
class TlsIndex:
    """The session's index over HTTPS with one certificate chain."""
    chain: ServedChain
    url: str
    root_in_target: str = ""  # where its root certificate is in the target (package_index sets it)

    @property
    def name(self) -> str:
        return self.chain.spec.name


@dataclass(frozen=True)
class IndexUrls:
    http: str
    https: dict[str, TlsIndex]  # one per trusted chain (tls_chains.TRUSTED), by name
    https_without_intermediate: TlsIndex  # trusted root, but the server does not send the intermediate
    https_untrusted: TlsIndex  # a certificate from a CA the target is not told to trust
    ca_bundle: Path  # the trusted chains' roots
    index: PackageIndex


@pytest.fixture(scope="session")
def index_servers(archsmoke, tmp_path_factory) -> IndexUrls:
    """The session's index and its HTTPS servers, with URLs as the host sees them (127.0.0.1)."""
    with harness_errors():
        demo = build_demo_packages(archsmoke.cache, archsmoke.options.index_url, archsmoke.sink)
        tagged = build_platform_wheels(archsmoke.cache)
    tls = tmp_path_factory.mktemp("tls")
    # The leaf certificates name every address a target may reach the host at (a VM: its gateway).
    chains = {spec.name: make_chain(spec, tls, archsmoke.host_addresses) for spec in (*TRUSTED, WITHOUT_INTERMEDIATE, UNTRUSTED)}
    bundle = tls / "bundle.pem"
    bundle.write_bytes(b"".join(chains[spec.name].root_pem.read_bytes() for spec in TRUSTED))
    with PackageIndex(index_tree(tmp_path_factory.mktemp("index"), demo, tagged)) as index:
        served = {name: TlsIndex(chain, index.serve_https(chain.served_pem, chain.key_pem))
                  for name, chain in chains.items()}
        yield IndexUrls(
            http=index.http_url,
            https={spec.name: served[spec.name] for spec in TRUSTED},
            https_without_intermediate=served[WITHOUT_INTERMEDIATE.name],
            https_untrusted=served[UNTRUSTED.name],
            ca_bundle=bundle,
            index=index,
        )


@pytest.fixture(scope="session")
def package_index(index_servers, target) -> IndexUrls:
    """The session's index with URLs as this target reaches the host (127.0.0.1, or a VM's gateway)."""
    def seen(served: TlsIndex) -> TlsIndex:
        return replace(served, url=target.host_url(served.url),
                       root_in_target=target.own_path(f"{CA_DIR_IN_TARGET}/{served.name}.pem"))

    return replace(index_servers, http=target.host_url(index_servers.http),
                   https={name: seen(served) for name, served in index_servers.https.items()},
                   https_without_intermediate=seen(index_servers.https_without_intermediate),
                   https_untrusted=seen(index_servers.https_untrusted))


@pytest.fixture(scope="session")
def native_wheels(archsmoke, index_servers) -> None:
    """archsmoke-native (cross-compiled here) added to the session's index, for the tests that need it."""
    with harness_errors():
        index_servers.index.publish(build_native_wheels(archsmoke.cache, archsmoke.sink).iterdir())


@pytest.fixture(scope="session")
def ca_in_target(target, package_index) -> str:
    """The trusted chains' roots, put into each target once: one bundle, and each root on its own (written by one
    shell, as here-documents: PEM is text; one command instead of one per file, which a VM makes costly)."""
    bundle = target.own_path(CA_IN_TARGET)
    files = {bundle: package_index.ca_bundle.read_text()}
    for served in (*package_index.https.values(), package_index.https_without_intermediate):
        files[served.root_in_target] = served.chain.root_pem.read_text()
    script = "".join(f"mkdir -p {shlex.quote(posixpath.dirname(path))} && cat > {shlex.quote(path)} <<'{_PEM_END}'\n"
                     f"{text}{_PEM_END}\n" for path, text in files.items())
    assert all(_PEM_END not in text and text.endswith("\n") for text in files.values())
    target.run(["/bin/sh", "-c", f"set -e\n{script}"]).check()
    return bundle


_PEM_END = "ARCHSMOKE_END_OF_PEM"


@pytest.fixture
def uv_env(target, uv, package_index, ca_in_target) -> dict[str, str]:
    """The environment uv runs with in the target: the session's index, its CAs, no managed Pythons."""
    return {
        **uv.env,
        "UV_INDEX_URL": package_index.http,
        "SSL_CERT_FILE": ca_in_target,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_CACHE_DIR": target.own_path("/root/.cache/uv"),
    }


@pytest.fixture
def uv_version(reported_version) -> Version:
    return Version(reported_version.version)


@pytest.fixture(autouse=True)
def _uv_feature_gate(request):
    """@pytest.mark.uv_min("0.4.0", "what"): skip, with that reason, on a uv that predates the feature."""
    marker = request.node.get_closest_marker("uv_min")
    if marker is None:
        return
    minimum, feature = marker.args
    found = request.getfixturevalue("uv_version")
    if found < Version(minimum):
        pytest.skip(f"uv {found} predates {feature} (added in {minimum})")


@pytest.fixture(autouse=True)
def _python_gate(request, arch_target):
    """@pytest.mark.needs_python: skipped where the root has no Python (the musl roots), with the reason."""
    target = request.getfixturevalue("target") if request.node.get_closest_marker("needs_python") else None
    if target is not None and not target.has_python:
        pytest.skip(target.without_python)


def pytest_configure(config):
    config.addinivalue_line("markers", "uv_min(version, feature): needs a uv at least this new")
    config.addinivalue_line("markers", "needs_python: needs Python in the target (skipped in the musl roots)")


@pytest.fixture
def workdir(target_tmp_path) -> str:
    """A fresh directory in the target for one test."""
    return target_tmp_path


class Uv:
    """Runs the uv under test in the target: `uv("pip", "install", ...)` checks, `uv.attempt(...)` does not."""

    def __init__(self, target, installed, env):
        self.target, self.installed, self.env = target, installed, env

    def attempt(self, *args: str, cwd: str | None = None, env: dict | None = None, program: str = "uv"):
        path = f"{self.installed.bin_dir}/{program}"
        return self.target.run([path, *args], cwd=cwd, env={**self.env, **(env or {})})

    def __call__(self, *args: str, **kwargs):
        return self.attempt(*args, **kwargs).check()

    def python(self, venv: str, code: str):
        return self.target.run([f"{venv}/bin/python", "-c", code], env=self.env).check()


@pytest.fixture
def run_uv(target, uv, uv_env) -> Uv:
    return Uv(target, uv, uv_env)
