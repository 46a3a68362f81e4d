"""The `factorylab` command line: one entry point over the `simulators` and `autograde` packages."""
