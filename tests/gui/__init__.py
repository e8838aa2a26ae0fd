"""PoseDesk tests (a regular package: some libraries install a top-level `tests` package that would shadow this one)."""
