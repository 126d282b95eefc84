"""The host archsmoke runs on: its tools, binfmt_misc, container engine, Debian mirror, and `doctor`."""
