"""The README stays true: the two commands come first and the config-key table matches the schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    first_block = text.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_config_key_table_matches_the_schema() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "config_reference.py"), "--check", str(ROOT / "README.md")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout
