"""uv pip install over HTTPS as real indexes serve it: RSA and ECDSA chains through an intermediate, the
platform's own certificate store, and the chains a client must refuse.

Each chain is its own test id, so a report shows which signature path failed on which arch.
"""

import pytest
from packaging.version import Version

from demo_packages import APP_RUNS

pytestmark = [pytest.mark.needs_python, pytest.mark.uv_min("0.1.3", "SSL_CERT_FILE")]

CERTIFICATE_WORDS = ("certificate", "tls", "ssl", "unknownissuer")
SYSTEM_CERTS_FLAG_SINCE = Version("0.11.0")  # before it, the same switch was --native-tls (measured)


def _install(run_uv, venv: str, url: str, env: dict | None = None):
    """A fresh uv cache each time: an answer cached by an earlier test would skip the TLS handshake."""
    run_uv("venv", venv)
    return run_uv.attempt("pip", "install", "--index-url", url, "archsmoke-app",
                          env={"VIRTUAL_ENV": venv, "UV_HTTP_RETRIES": "0", "UV_CACHE_DIR": f"{venv}.cache", **(env or {})})


def _refused(result) -> bool:
    return result.exit_code != 0 and any(word in result.stderr.lower() for word in CERTIFICATE_WORDS)


@pytest.mark.parametrize("chain", ["rsa2048-leaf-rsa-intermediate-rsa-root",
                                   "ecdsa-p256-leaf-p384-intermediate-p384-root"])
def test_pip_install_over_https_through_an_intermediate(run_uv, workdir, package_index, ca_in_target, chain):
    """Only the root is given to uv: the server's intermediate must be received and its signature verified."""
    served = package_index.https[chain]
    result = _install(run_uv, f"{workdir}/.venv", served.url, env={"SSL_CERT_FILE": served.root_in_target})
    assert result.exit_code == 0, result.report()
    assert "greet 1.0.0" in run_uv.python(f"{workdir}/.venv", APP_RUNS).stdout


def test_a_server_that_does_not_send_the_intermediate_is_refused(run_uv, workdir, package_index, ca_in_target):
    """The control for the chain tests: the same trusted root, but a chain that cannot be completed."""
    served = package_index.https_without_intermediate
    result = _install(run_uv, f"{workdir}/.venv", served.url, env={"SSL_CERT_FILE": served.root_in_target})
    assert _refused(result), result.report()


def test_an_untrusted_certificate_is_refused(run_uv, workdir, package_index, ca_in_target):
    result = _install(run_uv, f"{workdir}/.venv", package_index.https_untrusted.url)
    assert _refused(result), result.report()
    frozen = run_uv("pip", "freeze", env={"VIRTUAL_ENV": f"{workdir}/.venv"}).stdout
    assert "archsmoke-app" not in frozen


@pytest.fixture  # not session-scoped: that would run before the needs_python gate skips the musl roots
def root_in_system_store(target, package_index, ca_in_target) -> str:
    """The RSA chain's root installed the Debian way: /usr/local/share/ca-certificates + update-ca-certificates
    (a root without the tool gets it appended to its bundle, /etc/ssl/certs/ca-certificates.crt, as the tool would)."""
    if not target.disposable:
        pytest.skip(f"it would change the system trust store of {target.where}, which outlives the run")
    served = package_index.https["rsa2048-leaf-rsa-intermediate-rsa-root"]
    target.put(served.chain.root_pem, "/usr/local/share/ca-certificates/archsmoke-test-root.crt", mode=0o644)
    if target.run(["sh", "-c", "command -v update-ca-certificates"]).ok:
        target.run(["update-ca-certificates"], timeout=300).check()
    else:  # a root without the tool (the musl roots): the system bundle is one file, appended to as the tool does
        target.run(["sh", "-c", "mkdir -p /etc/ssl/certs && cat /usr/local/share/ca-certificates/archsmoke-test-root.crt"
                    " >> /etc/ssl/certs/ca-certificates.crt"]).check()
    return served.url


@pytest.mark.uv_min("0.1.18", "--native-tls")
def test_pip_install_trusting_the_targets_own_certificate_store(target, run_uv, uv_version, workdir,
                                                                root_in_system_store):
    """uv's switch to the platform's certificates (--system-certs, earlier --native-tls) reads the target's
    store. Without the switch the same install fails: the root is in no bundle uv carries."""
    flag = "--system-certs" if uv_version >= SYSTEM_CERTS_FLAG_SINCE else "--native-tls"
    venv = f"{workdir}/.venv"
    env = {k: v for k, v in run_uv.env.items() if k != "SSL_CERT_FILE"}  # targets start from a clean environment
    env["UV_CACHE_DIR"] = f"{venv}.cache"
    run_uv("venv", venv)
    command = [run_uv.installed.path, "pip", "install", "--index-url", root_in_system_store, "archsmoke-app"]
    without = target.run(command, env={**env, "VIRTUAL_ENV": venv, "UV_HTTP_RETRIES": "0"})
    assert _refused(without), without.report()
    result = target.run([*command[:3], flag, *command[3:]], env={**env, "VIRTUAL_ENV": venv})
    assert result.exit_code == 0, result.report()
    assert "greet 1.0.0" in run_uv.python(venv, APP_RUNS).stdout
