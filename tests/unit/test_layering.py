"""close_tui.core and the emulator never import textual (they run headless and in CI tools)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import close_tui.core
import close_tui.emulator


def _modules(package: object) -> list[str]:
    return [
        m.name
        for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")  # type: ignore[attr-defined]
    ]


def test_core_and_emulator_never_import_textual() -> None:
    modules = ["close_tui.core", "close_tui.emulator"]
    modules += _modules(close_tui.core) + _modules(close_tui.emulator)
    assert len(modules) > 5
    code = (
        "import sys, importlib\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"textual imported by core/emulator: {out.stdout}"
