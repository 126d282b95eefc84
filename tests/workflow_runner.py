"""The workflows' own steps, run the way GitHub's runners run them, on this machine.

Each `run:` block is written to a file and executed with `bash -e` (GitHub's default shell) with the
step's and job's environment, GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STEP_SUMMARY files, and `if:`
conditions evaluated.  `sudo` is a stand-in that behaves as GitHub's: it resets the environment unless
given -E or --preserve-env, and always sets the secure PATH.  The host looks like GitHub's Ubuntu image
where it matters: /etc/apt is bind-mounted (in a mount namespace of each step's own) with Ubuntu's
sources and no Debian mirror.  `uses:` steps are small stand-ins: checkout (the workspace is already
there), cache (a miss, or a hit with a file the test provides), upload/download-artifact (a directory),
and `gh` records what it would post.  Only expressions these workflows use are understood; anything else
is an error, so a new one has to be taught here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SECURE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

SUDO = r"""#!/bin/bash
# GitHub's sudo: env_reset and secure_path; -E / --preserve-env keeps the caller's environment
# (their sudoers grant ALL, which implies SETENV), but PATH is the secure path either way.
keep=no
while [ $# -gt 0 ]; do
  case "$1" in
    -E|--preserve-env) keep=yes; shift ;;
    --preserve-env=*) keep="${1#--preserve-env=}"; shift ;;
    -n|-H) shift ;;
    --) shift; break ;;
    -*) echo "sudo stand-in: option $1 not understood" >&2; exit 1 ;;
    *) break ;;
  esac
done
if [ "$keep" = yes ]; then
  exec env PATH="@SECURE_PATH@" "$@"
fi
kept=()
if [ "$keep" != no ]; then
  IFS=, read -ra names <<< "$keep"
  for name in "${names[@]}"; do
    [ -n "${!name+x}" ] && kept+=("$name=${!name}")
  done
fi
exec env -i PATH="@SECURE_PATH@" HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM="${TERM:-dumb}" \
  "${kept[@]}" "$@"
""".replace("@SECURE_PATH@", SECURE_PATH)

GH = r"""#!/bin/bash
# gh stand-in: `gh api` calls are appended to $GH_LOG; a GET of the comments lists $GH_EXISTING_COMMENT.
echo "$*" >> "$GH_LOG"
for arg in "$@"; do
  case "$arg" in body=@*) cat "${arg#body=@}" > "$GH_LOG.body" ;; esac
done
if [ "$2" != "--method" ] && [ -n "${GH_EXISTING_COMMENT:-}" ]; then echo "$GH_EXISTING_COMMENT"; fi
"""

UBUNTU_SOURCES = """\
Types: deb
URIs: http://azure.archive.ubuntu.com/ubuntu/
Suites: noble noble-updates noble-backports
Components: main universe restricted multiverse
Signed-By: /usr/share/keyrings/ubuntu-archive-keyring.gpg
"""


class ExpressionError(Exception):
    pass


def _tokens(text: str) -> list[str]:
    found = re.findall(r"'(?:[^']|'')*'|\|\||&&|==|!=|!|\(|\)|[A-Za-z_][\w.-]*|\S", text)
    return [t for t in found if t.strip()]


@dataclass
class Context:
    values: dict  # github, matrix, vars, steps, env, ...
    status: str = "success"  # the job so far: success, failure or cancelled

    def lookup(self, path: str):
        value = self.values
        for part in path.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    def evaluate(self, text: str):
        tokens = _tokens(text)
        value, rest = self._or(tokens)
        if rest:
            raise ExpressionError(f"not understood: {text!r} (at {rest})")
        return value

    def _or(self, tokens):
        value, tokens = self._and(tokens)
        while tokens[:1] == ["||"]:
            other, tokens = self._and(tokens[1:])
            value = value or other
        return value, tokens

    def _and(self, tokens):
        value, tokens = self._compare(tokens)
        while tokens[:1] == ["&&"]:
            other, tokens = self._compare(tokens[1:])
            value = value and other
        return value, tokens

    def _compare(self, tokens):
        value, tokens = self._unary(tokens)
        if tokens[:1] in (["=="], ["!="]):
            other, rest = self._unary(tokens[1:])
            return (value == other) if tokens[0] == "==" else (value != other), rest
        return value, tokens

    def _unary(self, tokens):
        if not tokens:
            raise ExpressionError("expression ends too early")
        head, rest = tokens[0], tokens[1:]
        if head == "!":
            value, rest = self._unary(rest)
            return not value, rest
        if head == "(":
            value, rest = self._or(rest)
            if rest[:1] != [")"]:
                raise ExpressionError("unbalanced parenthesis")
            return value, rest[1:]
        if head.startswith("'"):
            return head[1:-1].replace("''", "'"), rest
        if rest[:2] == ["(", ")"]:
            functions = {"always": True, "success": self.status == "success",
                         "failure": self.status == "failure", "cancelled": self.status == "cancelled"}
            if head not in functions:
                raise ExpressionError(f"function {head}() not understood")
            return functions[head], rest[2:]
        if head in ("true", "false"):
            return head == "true", rest
        if re.fullmatch(r"[A-Za-z_][\w.-]*", head):
            return self.lookup(head), rest
        raise ExpressionError(f"token {head!r} not understood")

    def substitute(self, text: str) -> str:
        def one(match):
            value = self.evaluate(match.group(1))
            return "" if value is None else str(value)
        return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", one, str(text))

    def condition(self, text: str | None, default: str = "success()") -> bool:
        text = default if text is None else str(text)
        inner = re.fullmatch(r"\s*\$\{\{\s*(.*?)\s*\}\}\s*", text)
        expression = inner.group(1) if inner else text
        # GitHub adds success() to a condition that names no status function.
        if not re.search(r"\b(always|success|failure|cancelled)\(\)", expression):
            expression = f"success() && ({expression})"
        return bool(self.evaluate(expression))


@dataclass
class StepResult:
    name: str
    outcome: str  # success, failure or skipped
    output: str = ""


@dataclass
class Host:
    """What is the same for every job: the stand-in tools and GitHub's look of /etc/apt."""

    root: Path
    artifacts: Path = field(init=False)
    bin: Path = field(init=False)
    apt: Path = field(init=False)

    def __post_init__(self):
        self.artifacts = self.root / "artifacts"
        self.bin = self.root / "bin"
        self.apt = self.root / "etc-apt"
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.bin.mkdir(parents=True, exist_ok=True)
        for name, text in (("sudo", SUDO), ("gh", GH)):
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)
        shutil.copytree("/etc/apt", self.apt, symlinks=True, dirs_exist_ok=True)
        (self.apt / "sources.list").write_text("# Ubuntu 24.04 keeps its sources in sources.list.d/ubuntu.sources\n")
        for old in (self.apt / "sources.list.d").glob("*"):
            old.unlink()
        (self.apt / "sources.list.d" / "ubuntu.sources").write_text(UBUNTU_SOURCES)


@dataclass
class Job:
    host: Host
    workflow: Path
    name: str
    workspace: Path
    matrix: dict = field(default_factory=dict)
    event: dict = field(default_factory=dict)
    repository: str = "archsmoke/archsmoke"
    cache_hits: dict[str, Path] = field(default_factory=dict)  # cache key -> file the restore step provides
    extra_env: dict[str, str] = field(default_factory=dict)  # the runner's own environment
    stop_before: str | None = None  # a step's name: the rest would need a network
    results: list[StepResult] = field(default_factory=list)

    def __post_init__(self):
        self.definition = yaml.safe_load(self.workflow.read_text())["jobs"][self.name]
        self.files = self.workspace.parent / f"{self.name}-github"
        self.files.mkdir(parents=True, exist_ok=True)
        self.context = Context({
            "github": {"workspace": str(self.workspace), "repository": self.repository, "token": "stand-in-token",
                       "event": self.event, "server_url": "https://github.com", "run_id": "4242"},
            "matrix": self.matrix, "vars": {}, "steps": {}, "secrets": {},
        })

    def runs(self, cancelled: bool = False) -> bool:
        """Whether GitHub would start this job (its `if:` against the run's state)."""
        self.context.status = "cancelled" if cancelled else "success"
        return self.context.condition(self.definition.get("if"))

    def environment(self, step: dict) -> dict[str, str]:
        env = {"PATH": f"{self.host.bin}:{SECURE_PATH}", "HOME": str(self.workspace.parent / "home"),
               "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(self.workspace),
               "GITHUB_REPOSITORY": self.repository, "GITHUB_SERVER_URL": "https://github.com",
               "GITHUB_RUN_ID": "4242", "RUNNER_TEMP": str(self.files),
               "GITHUB_OUTPUT": str(self.files / "output"), "GITHUB_ENV": str(self.files / "env"),
               "GITHUB_STEP_SUMMARY": str(self.files / "summary.md"), "GH_LOG": str(self.files / "gh.log")}
        env.update(self.extra_env)
        for scope in (self.definition.get("env") or {}, step.get("env") or {}):
            for name, value in scope.items():
                env[name] = self.context.substitute(value)
        env.update(self._github_env())
        return env

    def _github_env(self) -> dict[str, str]:
        path = self.files / "env"
        return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line) if path.exists() else {}

    def run(self) -> list[StepResult]:
        (self.workspace.parent / "home").mkdir(exist_ok=True)
        self.context.status = "success"
        for step in self.definition["steps"]:
            name = step.get("name") or step.get("uses") or step["run"].splitlines()[0]
            if name == self.stop_before:
                break
            if not self.context.condition(step.get("if")):
                self.results.append(StepResult(name, "skipped"))
                continue
            outcome, output = self._uses(step) if "uses" in step else self._run(step)
            self.results.append(StepResult(name, outcome, output))
            if outcome == "failure":
                self.context.status = "failure"
        return self.results

    def _run(self, step: dict) -> tuple[str, str]:
        script = self.files / "step.sh"
        script.write_text(step["run"])
        (self.files / "output").write_text("")
        env = self.environment(step)
        # Each step in a mount namespace of its own, where /etc/apt is the Ubuntu runner's.
        wrapper = f'mount --bind "{self.host.apt}" /etc/apt && exec bash -e "{script}"'
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", wrapper],
                              cwd=self.workspace, env=env, capture_output=True, text=True, timeout=1800)
        if "id" in step:
            outputs = dict(line.split("=", 1) for line in (self.files / "output").read_text().splitlines() if "=" in line)
            self.context.values["steps"][step["id"]] = {"outputs": outputs}
        return ("success" if done.returncode == 0 else "failure"), done.stdout + done.stderr

    def _uses(self, step: dict) -> tuple[str, str]:
        action = step["uses"].split("@")[0]
        given = {k: self.context.substitute(v) for k, v in (step.get("with") or {}).items()}
        if action == "actions/checkout":
            return "success", "the workspace is already checked out"
        if action == "actions/cache":
            hit = self.cache_hits.get(given["key"])
            if hit is not None:
                shutil.copy(hit, self.workspace / given["path"])
            return "success", "cache hit" if hit is not None else "cache miss"
        if action == "actions/upload-artifact":
            source = self.workspace / given["path"]
            if not source.exists():
                return "success", "no files found (warn)"
            destination = self.host.artifacts / given["name"]
            if source.is_dir():
                shutil.copytree(source, destination, dirs_exist_ok=True)
            else:
                destination.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, destination)
            return "success", f"uploaded {given['name']}"
        if action == "actions/download-artifact":
            pattern = given["pattern"].replace("*", ".*")
            destination = self.workspace / given["path"]
            for artifact in sorted(self.host.artifacts.iterdir()):
                if re.fullmatch(pattern, artifact.name):
                    shutil.copytree(artifact, destination, dirs_exist_ok=True)
            return "success", "downloaded"
        raise ExpressionError(f"no stand-in for action {action}: teach tests/workflow_runner.py")

    def outcome(self, name: str) -> StepResult:
        return next(r for r in self.results if r.name == name)


def linked_checkout(repo: Path, workspace: Path, except_names: tuple[str, ...] = ()) -> Path:
    """A checkout of the repository made of links to its files (and its bootstrapped .venv, unless excluded)."""
    workspace.mkdir(parents=True)
    tracked = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True).stdout.split()
    for name in sorted({path.split("/", 1)[0] for path in tracked} | {".venv"}):
        if name not in except_names and (repo / name).exists():
            (workspace / name).symlink_to(repo / name)
    return workspace
