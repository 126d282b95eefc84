"""The workflows' own steps, run the way GitHub's runners run them, on this machine.

Each `run:` block is written to a file and executed with `bash -e` (GitHub's default shell) with the
step's and job's environment, GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STEP_SUMMARY files, and `if:`
conditions evaluated.  `sudo` is a stand-in that behaves as GitHub's: it resets the environment unless
given -E or --preserve-env, and always sets the secure PATH (as Ubuntu 26.04's sudo-rs, it can also ignore a
bare -E).  The host looks like GitHub's Ubuntu image where it matters: /etc/apt is bind-mounted (in a mount
namespace of each step's own) with Ubuntu's sources and no Debian mirror, and /usr/lib/os-release says Ubuntu.
Composite actions run step by step (their inputs, outputs, `github.action_path`, `if:`), found as `$/path`
(the workflow's own repository), `./path` (the workspace) or `owner/repo[/path]@ref` (a repository the test
names); a workflow's jobs run in the order of their `needs`, matrices expanded, and a job that `uses:` a
reusable workflow runs that workflow's jobs with its `workflow_call` inputs.  Other `uses:` steps are small
stand-ins: checkout (the caller's repository, or a named one, as links to its files), cache (restore and
save, kept by the host for the run), upload/download-artifact (directories), and `gh` records what it would
post.  Only expressions these workflows use are understood; anything else is an error, so a new one has to
be taught here.
"""

from __future__ import annotations

import itertools
import json
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
    -E|--preserve-env) [ "@BARE_E@" = keeps ] && keep=yes; shift ;;
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

UBUNTU_RELEASES = {"24.04": "noble", "22.04": "jammy", "26.04": "resolute"}

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
    found = re.findall(r"'(?:[^']|'')*'|\|\||&&|==|!=|!|\(|\)|,|[A-Za-z_][\w.-]*|\S", text)
    return [t for t in found if t.strip()]


def _format(template: str, *values) -> str:
    return re.sub(r"\{(\d+)\}", lambda m: _text(values[int(m.group(1))]), template.replace("{{", "\0").replace(
        "}}", "\1")).replace("\0", "{").replace("\1", "}")


def _text(value) -> str:
    """A value as GitHub writes it into a string: true/false, numbers plainly, null as nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _equal(left, right) -> bool:
    """GitHub's ==: strings compare without case; a boolean against a string compares their text."""
    if isinstance(left, str) or isinstance(right, str):
        return _text(left).lower() == _text(right).lower()
    return left == right


FUNCTIONS = {"fromJSON": lambda text: json.loads(text), "toJSON": lambda value: json.dumps(value),
             "format": _format}


@dataclass
class Context:
    values: dict  # github, matrix, vars, steps, env, inputs, needs, runner, ...
    status: str = "success"  # the job (or composite action) so far: success, failure or cancelled

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
            same = _equal(value, other)
            return same if tokens[0] == "==" else not same, rest
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
        if rest[:1] == ["("]:
            if head not in FUNCTIONS:
                raise ExpressionError(f"function {head}() not understood")
            args, rest = [], rest[1:]
            while True:
                value, rest = self._or(rest)
                args.append(value)
                if rest[:1] == [","]:
                    rest = rest[1:]
                    continue
                if rest[:1] != [")"]:
                    raise ExpressionError(f"{head}(): unbalanced parenthesis")
                return FUNCTIONS[head](*args), rest[1:]
        if head in ("true", "false"):
            return head == "true", rest
        if re.fullmatch(r"[A-Za-z_][\w.-]*", head):
            return self.lookup(head), rest
        raise ExpressionError(f"token {head!r} not understood")

    def substitute(self, text):
        """A value with its ${{ }} expressions expanded; a value that is one expression keeps its type (a list
        from fromJSON for a matrix, a boolean for an input)."""
        if not isinstance(text, str):
            return text
        whole = re.fullmatch(r"\s*\$\{\{\s*(.*?)\s*\}\}\s*", text, re.S)
        if whole and "${{" not in whole.group(1):
            return self.evaluate(whole.group(1))
        return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: _text(self.evaluate(m.group(1))), text, flags=re.S)

    def text(self, value) -> str:
        return _text(self.substitute(value))

    def condition(self, text: str | None, default: str = "success()") -> bool:
        text = default if text is None else str(text)
        inner = re.fullmatch(r"\s*\$\{\{\s*(.*?)\s*\}\}\s*", text, re.S)
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
    """What is the same for every job of a run: the stand-in tools, GitHub's look of /etc/apt and of the
    system (Ubuntu `ubuntu`; anything else, e.g. "debian-12", to see the action refuse it), the artifacts
    and the Actions cache."""

    root: Path
    ubuntu: str = "24.04"
    bare_sudo_e: str = "keeps"  # "ignored": Ubuntu 26.04's sudo-rs, which resets the environment after a bare -E
    artifacts: Path = field(init=False)
    bin: Path = field(init=False)
    apt: Path = field(init=False)
    os_release: Path = field(init=False)
    caches: Path = field(init=False)  # one directory per saved key: what `path` held
    saved: list[str] = field(default_factory=list)  # the keys saved, in order

    def __post_init__(self):
        self.artifacts = self.root / "artifacts"
        self.bin = self.root / "bin"
        self.apt = self.root / "etc-apt"
        self.os_release = self.root / "os-release"
        self.caches = self.root / "caches"
        for directory in (self.artifacts, self.bin, self.caches):
            directory.mkdir(parents=True, exist_ok=True)
        for name, text in (("sudo", SUDO.replace("@BARE_E@", self.bare_sudo_e)), ("gh", GH)):
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)
        shutil.copytree("/etc/apt", self.apt, symlinks=True, dirs_exist_ok=True)
        (self.apt / "sources.list").write_text("# Ubuntu keeps its sources in sources.list.d/ubuntu.sources\n")
        for old in (self.apt / "sources.list.d").glob("*"):
            old.unlink()
        codename = UBUNTU_RELEASES.get(self.ubuntu, "")
        (self.apt / "sources.list.d" / "ubuntu.sources").write_text(UBUNTU_SOURCES.replace("noble", codename or "noble"))
        if codename:
            self.os_release.write_text(f'NAME="Ubuntu"\nVERSION_ID="{self.ubuntu}"\nID=ubuntu\nID_LIKE=debian\n'
                                       f'PRETTY_NAME="Ubuntu {self.ubuntu}"\nVERSION_CODENAME={codename}\n')
        else:
            name, _, version = self.ubuntu.partition("-")
            self.os_release.write_text(f'ID={name}\nVERSION_ID="{version}"\nPRETTY_NAME="{self.ubuntu}"\n')

    def restore(self, key: str, path: Path) -> bool:
        saved = self.caches / key
        if not saved.exists():
            return False
        if (saved / "file").is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(saved / "file", path)
        else:
            shutil.copytree(saved / "tree", path, dirs_exist_ok=True)
        return True

    def save(self, key: str, path: Path) -> str:
        if (self.caches / key).exists():
            return f"cache entry {key} exists: not saved"
        if not path.exists():
            return f"nothing at {path}: not saved"
        (self.caches / key).mkdir()
        if path.is_dir():
            shutil.copytree(path, self.caches / key / "tree")
        else:
            shutil.copy(path, self.caches / key / "file")
        self.saved.append(key)
        return f"saved {key}"


def own_repository(workflow: Path) -> Path:
    """The repository a workflow file is in (.github/workflows/x.yml: three levels up), which `$/...` names."""
    return workflow.resolve().parents[2]


def referenced(uses: str, own: Path, local: Path | None, repositories: dict[str, Path]) -> Path | None:
    """Where a `uses:` points on this machine: `$/path` in the workflow's own repository, `./path` in the
    workspace (`local`), `owner/repo[/path]@ref` in a repository the test names; None for any other."""
    if uses.startswith("$/"):
        return (own / uses[2:]).resolve()
    if uses.startswith("./"):
        return None if local is None else (local / uses[2:]).resolve()
    name, _, _ = uses.partition("@")
    owner_repo = "/".join(name.split("/")[:2])
    if owner_repo in repositories:
        return repositories[owner_repo].joinpath(*name.split("/")[2:])
    return None


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
    inputs: dict = field(default_factory=dict)  # a called workflow's inputs
    needs: dict = field(default_factory=dict)  # {job: {"result": ..., "outputs": {...}}}
    repositories: dict[str, Path] = field(default_factory=dict)  # owner/name -> its files, for uses: and checkout
    checkout: Path | None = None  # the caller's repository, which a plain actions/checkout links in
    event_name: str = "pull_request"
    variables: dict[str, str] = field(default_factory=dict)  # the repository's `vars`

    def __post_init__(self):
        self.definition = yaml.safe_load(self.workflow.read_text())["jobs"][self.name]
        self.own_repository = own_repository(self.workflow)
        label = "-".join(str(v) for v in self.matrix.values())
        self.files = self.workspace.parent / f"{self.name}{'-' + label if label else ''}-github"
        self.files.mkdir(parents=True, exist_ok=True)
        self.context = Context({
            "github": {"workspace": str(self.workspace), "repository": self.repository, "token": "stand-in-token",
                       "event": self.event, "event_name": self.event_name, "server_url": "https://github.com",
                       "run_id": "4242"},
            "matrix": self.matrix, "vars": self.variables, "steps": {}, "secrets": {}, "inputs": self.inputs,
            "needs": self.needs, "runner": {"temp": str(self.files / "temp"), "os": "Linux", "arch": "X64"},
        })
        self.outputs: dict[str, str] = {}

    def runs(self, cancelled: bool = False) -> bool:
        """Whether GitHub would start this job (its `if:` against the run's state and its needs' results)."""
        failed = any(need.get("result") != "success" for need in self.needs.values())
        self.context.status = "cancelled" if cancelled else "failure" if failed else "success"
        return self.context.condition(self.definition.get("if"))

    def environment(self, step: dict, context: Context | None = None, action_path: Path | None = None) -> dict[str, str]:
        context = context or self.context
        env = {"PATH": f"{self.host.bin}:{SECURE_PATH}", "HOME": str(self.workspace.parent / "home"),
               "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(self.workspace),
               "GITHUB_REPOSITORY": self.repository, "GITHUB_SERVER_URL": "https://github.com",
               "GITHUB_RUN_ID": "4242", "GITHUB_EVENT_NAME": self.event_name, "RUNNER_TEMP": str(self.files / "temp"),
               "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64",
               "GITHUB_OUTPUT": str(self.files / "output"), "GITHUB_ENV": str(self.files / "env"),
               "GITHUB_STEP_SUMMARY": str(self.files / "summary.md"), "GH_LOG": str(self.files / "gh.log")}
        if action_path is not None:
            env["GITHUB_ACTION_PATH"] = str(action_path)
        env.update(self.extra_env)
        for scope in (self.definition.get("env") or {}, step.get("env") or {}):
            for name, value in scope.items():
                env[name] = context.text(value)
        env.update(self._github_env())
        return env

    def _github_env(self) -> dict[str, str]:
        path = self.files / "env"
        return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line) if path.exists() else {}

    def run(self) -> list[StepResult]:
        (self.workspace.parent / "home").mkdir(exist_ok=True)
        self.workspace.mkdir(parents=True, exist_ok=True)
        (self.files / "temp").mkdir(exist_ok=True)
        self.context.status = "success"
        for step in self.definition["steps"]:
            name = self._step_name(step)
            if name == self.stop_before:
                break
            self.results.append(self._step(step, self.context))
        for name, value in (self.definition.get("outputs") or {}).items():
            self.outputs[name] = self.context.text(value)
        return self.results

    @staticmethod
    def _step_name(step: dict) -> str:
        return step.get("name") or step.get("uses") or step["run"].splitlines()[0]

    def _step(self, step: dict, context: Context, action_path: Path | None = None) -> StepResult:
        name = self._step_name(step)
        if not context.condition(step.get("if")):
            if "id" in step:
                context.values["steps"][step["id"]] = {"outputs": {}, "outcome": "skipped"}
            return StepResult(name, "skipped")
        if "uses" in step:
            outcome, output, outputs = self._uses(step, context)
        else:
            outcome, output, outputs = self._run(step, context, action_path)
        if "id" in step:
            context.values["steps"][step["id"]] = {"outputs": outputs, "outcome": outcome}
        if outcome == "failure":
            context.status = "failure"
        return StepResult(name, outcome, output)

    @property
    def succeeded(self) -> bool:
        return all(r.outcome != "failure" for r in self.results)

    def _run(self, step: dict, context: Context, action_path: Path | None = None) -> tuple[str, str, dict]:
        script = self.files / "step.sh"
        script.write_text(step["run"])
        (self.files / "output").write_text("")
        env = self.environment(step, context, action_path)
        # Each step in a mount namespace of its own, where /etc/apt and the system's name are the Ubuntu runner's.
        wrapper = (f'mount --bind "{self.host.apt}" /etc/apt && mount --bind "{self.host.os_release}" '
                   f'"$(readlink -f /etc/os-release)" && exec bash -e "{script}"')
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", wrapper],
                              cwd=self.workspace, env=env, capture_output=True, text=True, timeout=1800)
        outputs = dict(line.split("=", 1) for line in (self.files / "output").read_text().splitlines() if "=" in line)
        return ("success" if done.returncode == 0 else "failure"), done.stdout + done.stderr, outputs

    # --- uses: ----------------------------------------------------------------------------------------

    def _uses(self, step: dict, context: Context) -> tuple[str, str, dict]:
        given = {k: context.text(v) for k, v in (step.get("with") or {}).items()}
        # A composite action's files, else one of the stand-ins below.
        directory = referenced(step["uses"], self.own_repository, self.workspace, self.repositories)
        if directory is not None:
            return self._composite(directory, given, context, step["uses"])
        action = step["uses"].split("@")[0]
        if action == "actions/checkout":
            return self._checkout(given)
        if action in ("actions/cache", "actions/cache/restore"):
            path = Path(given["path"])
            path = path if path.is_absolute() else self.workspace / path
            hit = self.cache_hits.get(given["key"])
            if hit is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(hit, path)
            hit = hit is not None or self.host.restore(given["key"], path)
            return "success", "cache hit" if hit else "cache miss", {"cache-hit": "true" if hit else "false"}
        if action == "actions/cache/save":
            path = Path(given["path"])
            return "success", self.host.save(given["key"], path if path.is_absolute() else self.workspace / path), {}
        if action == "actions/upload-artifact":
            source = self.workspace / given["path"]
            if not source.exists():
                return "success", "no files found (warn)", {}
            destination = self.host.artifacts / given["name"]
            if source.is_dir():
                shutil.copytree(source, destination, dirs_exist_ok=True)
            else:
                destination.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, destination)
            return "success", f"uploaded {given['name']}", {}
        if action == "actions/download-artifact":
            pattern = re.escape(given["pattern"]).replace(r"\*", ".*")
            destination = self.workspace / given["path"]
            merge = given.get("merge-multiple", "false") == "true"
            for artifact in sorted(self.host.artifacts.iterdir()):
                if re.fullmatch(pattern, artifact.name):
                    shutil.copytree(artifact, destination if merge else destination / artifact.name,
                                    dirs_exist_ok=True)
            return "success", "downloaded", {}
        raise ExpressionError(f"no stand-in for action {action}: teach tests/workflow_runner.py")

    def _checkout(self, given: dict) -> tuple[str, str, dict]:
        repository = given.get("repository")
        source = self.repositories.get(repository) if repository else self.checkout
        if source is None:
            if repository:
                raise ExpressionError(f"checkout of {repository}: the test names no such repository")
            return "success", "the workspace is already checked out", {}
        target = self.workspace / given.get("path", ".")
        if target != self.workspace and target.exists():
            shutil.rmtree(target)
        linked_checkout(source, target, except_names=(".venv",) if target == self.workspace else ())
        return "success", f"checked out {repository or self.repository}", {}

    def _composite(self, directory: Path, given: dict, caller: Context, uses: str) -> tuple[str, str, dict]:
        """A composite action's steps, in a context of its own: its inputs, its steps, github.action_path."""
        definition = yaml.safe_load((directory / "action.yml").read_text())
        inputs = {}
        for name, spec in (definition.get("inputs") or {}).items():
            if name in given:
                inputs[name] = given[name]
            elif (spec or {}).get("required") and "default" not in (spec or {}):
                return "failure", f"input required and not supplied: {name}", {}
            else:
                inputs[name] = str((spec or {}).get("default", ""))
        unknown = set(given) - set(inputs)
        if unknown:
            raise ExpressionError(f"inputs {sorted(unknown)} are not inputs of {directory / 'action.yml'}")
        values = {**caller.values, "inputs": inputs, "steps": {},
                  "github": {**caller.values["github"], "action_path": str(directory)}}
        context = Context(values, status="success")
        assert definition["runs"]["using"] == "composite", directory
        outputs_log = []
        for step in definition["runs"]["steps"]:
            if "run" in step and step.get("shell") != "bash":
                raise ExpressionError(f"{directory / 'action.yml'}: a composite step's run needs `shell: bash`")
            result = self._step(step, context, action_path=directory)
            outputs_log.append(f"[{result.outcome}] {result.name}\n{result.output}")
            self.results.append(StepResult(f"{uses} > {result.name}", result.outcome, result.output))
        outputs = {name: context.text(spec["value"]) for name, spec in (definition.get("outputs") or {}).items()}
        return context.status, "\n".join(outputs_log), outputs

    def outcome(self, name: str) -> StepResult:
        return next(r for r in self.results if r.name == name)


@dataclass
class WorkflowRun:
    """A whole workflow, its jobs in the order of their `needs`: each matrix combination a Job in a workspace of
    its own (empty until actions/checkout links `checkout` in), a `uses:` job the called workflow's jobs."""

    host: Host
    workflow: Path
    checkout: Path  # the repository whose event this is (the caller's)
    event: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    repositories: dict[str, Path] = field(default_factory=dict)
    repository: str = "archsmoke/archsmoke"
    extra_env: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    before_job: object = None  # called with each Job before it runs (a test's setup of the runner)
    prefix: str = ""
    jobs: dict[str, list[Job]] = field(default_factory=dict)  # job id -> its runs (one per matrix combination)
    called: dict[str, "WorkflowRun"] = field(default_factory=dict)
    results: dict[str, dict] = field(default_factory=dict)  # job id -> {"result": ..., "outputs": {...}}

    def run(self) -> dict[str, dict]:
        definition = yaml.safe_load(self.workflow.read_text())
        for name in self._order(definition["jobs"]):
            spec = definition["jobs"][name]
            needs = [spec["needs"]] if isinstance(spec.get("needs"), str) else spec.get("needs") or []
            needed = {n: self.results[n] for n in needs}
            gate = Job(self.host, self.workflow, name, self.host.root / "jobs" / f"{self.prefix}{name}" / "gate",
                       needs=needed, inputs=self.inputs, event=self.event, repository=self.repository,
                       variables=self.variables)
            if not gate.runs():
                self.results[name] = {"result": "skipped", "outputs": {}}
                continue
            if "uses" in spec:
                self.results[name] = self._call(name, spec, gate.context)
                continue
            runs = []
            for matrix in self._matrix(spec, gate.context):
                label = "-".join(str(v) for v in matrix.values())
                base = self.host.root / "jobs" / f"{self.prefix}{name}{'-' + label if label else ''}"
                job = Job(self.host, self.workflow, name, base / "workspace", matrix=matrix, event=self.event,
                          repository=self.repository, inputs=self.inputs, needs=needed,
                          repositories=self.repositories, checkout=self.checkout, extra_env=self.extra_env,
                          variables=self.variables)
                if self.before_job is not None:
                    self.before_job(job)
                job.run()
                runs.append(job)
            self.jobs[name] = runs
            self.results[name] = {"result": "success" if all(j.succeeded for j in runs) else "failure",
                                  "outputs": runs[-1].outputs if runs else {}}
        return self.results

    @staticmethod
    def _order(jobs: dict) -> list[str]:
        done: list[str] = []
        while len(done) < len(jobs):
            ready = [n for n, j in jobs.items() if n not in done and all(
                need in done for need in ([j["needs"]] if isinstance(j.get("needs"), str) else j.get("needs") or []))]
            if not ready:
                raise ExpressionError(f"jobs with needs that never run: {sorted(set(jobs) - set(done))}")
            done.extend(ready)
        return done

    @staticmethod
    def _matrix(spec: dict, context: Context) -> list[dict]:
        matrix = context.substitute((spec.get("strategy") or {}).get("matrix"))
        if not matrix:
            return [{}]
        matrix = {k: context.substitute(v) for k, v in matrix.items()}
        include = matrix.pop("include", [])
        matrix.pop("exclude", None)
        keys = list(matrix)
        rows = [dict(zip(keys, values)) for values in itertools.product(*(matrix[k] for k in keys))] if keys else []
        return rows + list(include)

    def _call(self, name: str, spec: dict, context: Context) -> dict:
        uses = spec["uses"]
        path = referenced(uses, own_repository(self.workflow), self.checkout, self.repositories)
        if path is None:
            raise ExpressionError(f"reusable workflow {uses}: the test names no repository it is in")
        called_spec = yaml.safe_load(path.read_text())[True]["workflow_call"]
        given = {k: context.substitute(v) for k, v in (spec.get("with") or {}).items()}
        inputs = {}
        for input_name, input_spec in (called_spec.get("inputs") or {}).items():
            if input_name in given:
                inputs[input_name] = given[input_name]
            elif input_spec.get("required"):
                raise ExpressionError(f"{uses}: required input {input_name} not given")
            else:
                inputs[input_name] = input_spec.get("default", False if input_spec.get("type") == "boolean" else "")
        unknown = set(given) - set(inputs)
        if unknown:
            raise ExpressionError(f"{uses}: {sorted(unknown)} are not inputs of the called workflow")
        called = WorkflowRun(self.host, path, self.checkout, event=self.event, inputs=inputs,
                             repositories=self.repositories, repository=self.repository, extra_env=self.extra_env,
                             variables=self.variables, before_job=self.before_job, prefix=f"{self.prefix}{name}-")
        results = called.run()
        self.called[name] = called
        jobs_context = Context({"jobs": results})
        outputs = {k: jobs_context.text(v["value"]) for k, v in (called_spec.get("outputs") or {}).items()}
        result = "success" if all(r["result"] in ("success", "skipped") for r in results.values()) else "failure"
        return {"result": result, "outputs": outputs}


def linked_checkout(repo: Path, workspace: Path, except_names: tuple[str, ...] = ()) -> Path:
    """A checkout of the repository made of links to its files (and its bootstrapped .venv, unless excluded)."""
    workspace.mkdir(parents=True, exist_ok=True)
    tracked = subprocess.run(["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True).stdout.split()
    for name in sorted({path.split("/", 1)[0] for path in tracked} | {".venv"}):
        if name not in except_names and (repo / name).exists():
            (workspace / name).symlink_to(repo / name)
    return workspace
