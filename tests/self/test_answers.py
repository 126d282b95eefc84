"""How two builds' answers are compared (harness/generic/answers.py): pure rules on answers written here."""

from archsmoke.generic.answers import Answer, Side, differences, problems

REFERENCE = Side("x86_64 (reference)", "amd64", ("/opt/archsmoke/tool/venv/bin",))
S390X = Side("s390x (qemu-user runner)", "s390x", ("/home/ci/.cache/archsmoke/run.x/opt/archsmoke/tool/venv/bin",))


def answer(stdout: str, exit_code: int = 0, stderr: str = "", command: str = "tool --version") -> Answer:
    return Answer(command, exit_code, stdout, stderr, False, f"report of {command}")


def test_arch_words_triples_install_paths_and_build_times_are_set_aside():
    theirs = answer("tool 2.0 (x86_64-unknown-linux-gnu, amd64 build, Jan  6 2026 12:03:44)\n"
                    "installed in /opt/archsmoke/tool/venv/bin/tool\n")
    ours = answer("tool 2.0 (s390x-unknown-linux-gnu, s390x build, Feb 11 2026 09:15:02)  \n"
                  "installed in /home/ci/.cache/archsmoke/run.x/opt/archsmoke/tool/venv/bin/tool\n")
    assert differences(theirs, REFERENCE, ours, S390X) == []


def test_another_answer_is_shown_as_a_diff_of_both_sides():
    found = differences(answer("checksum 1a2b\n"), REFERENCE, answer("checksum 2b1a\n"), S390X)
    assert len(found) == 1 and "printed another stdout on s390x (qemu-user runner) than on x86_64 (reference)" in found[0]
    assert "-checksum 1a2b\n+checksum 2b1a" in found[0]


def test_another_ending_is_named_with_both_sides():
    found = differences(answer("usage", 1, command="tool --help"), REFERENCE, answer("usage", -11, command="tool --help"),
                        S390X)
    assert found == ["`tool --help` was killed by signal 11 (SIGSEGV) on s390x (qemu-user runner), but exited 1 on "
                     "x86_64 (reference)"]


def test_words_of_other_arches_and_numbers_are_not_set_aside():
    assert differences(answer("built for arm64\n"), REFERENCE, answer("built for ppc64\n"), S390X)
    assert differences(answer("pages 4096\n"), REFERENCE, answer("pages 65536\n"), S390X)


def test_what_every_answer_must_be():
    assert problems(answer("tool 2.0"), must_exit_zero=True) == []
    assert problems(answer("usage", 1, command="tool --help"), must_exit_zero=False) == []
    assert problems(answer("", 0), must_exit_zero=False) == ["`tool --version` printed nothing"]
    assert problems(answer("x", 2), must_exit_zero=True) == ["`tool --version` exited 2, not 0"]
    assert problems(answer("", -6, "<jemalloc>: Unsupported system page size"), must_exit_zero=True) == [
        "`tool --version` printed an allocator's abort ('<jemalloc>')", "`tool --version` was killed by signal 6 (SIGABRT)"]
    through = Answer("tool --version", -11, "tool 2.0\n", "", False, "", launcher_said=245)
    assert problems(through, must_exit_zero=True) == ["`tool --version` was killed by signal 11 (SIGSEGV) (its launcher "
                                                      "exited 245)"]
