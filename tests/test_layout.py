"""The README's layout table matches the tree: every path it names exists, and every module of the package is
named (itself or by its folder)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def layout_rows() -> list[str]:
    text = (ROOT / "README.md").read_text()
    table = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    return [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]


def named_paths() -> set[str]:
    paths = set()
    for cell in layout_rows():
        names = re.findall(r"`([^`]+)`", cell)
        folder = str(Path(names[0]).parent) if names[0].endswith(".py") else names[0].rstrip("/")
        paths |= {names[0].rstrip("/")} | {f"{folder}/{name}" for name in names[1:]}
    return paths


def test_every_path_in_the_layout_table_exists():
    for path in named_paths():
        assert (ROOT / path).exists(), path


def test_every_module_of_the_package_is_in_the_layout_table():
    named = named_paths()
    for module in sorted((ROOT / "nuwave").rglob("*.py")):
        relative = module.relative_to(ROOT)
        if module.name in ("__init__.py", "__main__.py") and relative.parent != Path("nuwave"):
            continue
        if relative == Path("nuwave/__init__.py"):
            continue
        assert str(relative) in named or any(str(parent) in named for parent in relative.parents), relative
