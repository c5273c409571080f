#!/usr/bin/env python
"""Run the demo's management commands: ``python example_project/manage.py runserver``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    # Import the project as ``example_project.*`` from the repository root, never its
    # apps as top-level modules from this folder.
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [path for path in sys.path if os.path.abspath(path or ".") != here]
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
