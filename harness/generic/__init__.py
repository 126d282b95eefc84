"""A suite that needs no test code: what every user of a command-line tool needs from any build.

    pytest --pyargs archsmoke.generic --binary dist/mytool-ppc64le --binary dist/mytool-s390x
    pytest --pyargs archsmoke.generic --product ruff --release latest --arch riscv64

Every executable of the build starts and answers `--version` and `--help` with exit 0, nothing dies
by a signal, the target's dynamic loader finds every library each one needs (the missing one is
named), nothing prints an allocator's abort, and the version the main executable reports is the one
under test where that is known (wheels and releases).
"""
