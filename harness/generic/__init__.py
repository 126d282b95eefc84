"""A suite that needs no test code: what every user of a command-line tool needs from any build.

    pytest --pyargs archsmoke.generic --binary dist/mytool-ppc64le --binary dist/mytool-s390x
    pytest --pyargs archsmoke.generic --product ruff --release latest --arch riscv64

Every executable of the build answers `--version` and `--help` as the same release's build for this host does
(the reference: same exit code, same output once arch words, triples and install paths are set aside), or,
without one, `--version` with exit 0; nothing dies by a signal (behind a launcher too), the target's dynamic
loader finds every library each one needs (the missing one is named), nothing prints an allocator's abort, the
version the main executable reports is the release under test where that is known, and the build is what its
label (wheel tags, npm package.json, release file name) says it is.

A build of native code that a runtime loads (an extension wheel, an npm package of Node.js addons) has each
module imported or each addon required in the target, one process each, at the CPU floor on every tier.
"""
