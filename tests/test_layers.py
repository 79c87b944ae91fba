"""The layers of ``core`` point one way: no module imports a higher layer, no cycles.

Every import in every module of ``core`` counts, including those inside functions (a
lazy import is still a dependency). A package (``core.data``) or top-level module
(``core.train``) sits on one layer and may import its own layer or lower ones; packages
on one layer must not import each other in a circle.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "core"

LAYERS = {
    1: ("data", "models", "evaluation", "hparams", "config", "errors", "files", "states"),
    2: ("training",),
    3: ("runs",),
    4: ("kinds", "scoring", "train", "evaluate", "runs_table", "run_groups"),
    5: ("explain", "experiment"),
    6: ("report",),
}
LAYER = {name: layer for layer, names in LAYERS.items() for name in names}


def _unit(module: str) -> str | None:
    """The package or top-level module of ``core`` that ``module`` belongs to."""
    parts = module.split(".")
    if parts[0] != "core" or len(parts) < 2 or parts[1] == "__init__":
        return None
    return parts[1]


def imports_of(path: Path) -> set[str]:
    """Every ``core.*`` module that ``path`` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "core":  # from core import hparams
                found.update(f"core.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
    return {name for name in found if name.startswith("core.")}


def dependencies() -> list[tuple[str, str, str]]:
    """``(importing unit, imported unit, file)`` for every import between units of core."""
    edges = []
    for path in sorted(CORE.rglob("*.py")):
        relative = path.relative_to(CORE.parent).with_suffix("")
        source = _unit(".".join(relative.parts))
        if source is None:  # core/__init__.py
            continue
        for module in imports_of(path):
            target = _unit(module)
            if target is not None and target != source:
                edges.append((source, target, str(path.relative_to(CORE.parent))))
    return edges


def test_every_unit_of_core_has_a_layer():
    units = {
        _unit(".".join(p.relative_to(CORE.parent).with_suffix("").parts))
        for p in CORE.rglob("*.py")
    }
    assert units - {None} <= set(LAYER), (
        f"place these in LAYERS: {sorted(units - {None} - set(LAYER))}"
    )


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{file}: core.{source} (layer {LAYER[source]}) imports "
        f"core.{target} (layer {LAYER[target]})"
        for source, target, file in dependencies()
        if LAYER.get(target, 99) > LAYER.get(source, 0)
    ]
    assert upward == []


def test_no_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for source, target, _ in dependencies():
        graph.setdefault(source, set()).add(target)
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle between packages: {' -> '.join(error.args[1])}")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import core.train\n", {"core.train"}),
        ("from core import hparams, config\n", {"core.hparams", "core.config"}),
        ("def f():\n    from core.kinds.text import TextKind\n", {"core.kinds.text"}),
        ("from pathlib import Path\n", set()),
    ],
)
def test_imports_inside_functions_and_from_core_are_seen(tmp_path, source, expected):
    path = tmp_path / "m.py"
    path.write_text(source)
    assert imports_of(path) == expected


ROOT = CORE.parent
MODALITY_NAMES = {"audio", "face", "text", "fusion"}
"""The built-in modalities: only their kinds (``core/kinds``) may decide by these names."""


def name_comparisons(path: Path) -> list[str]:
    """Every comparison in ``path`` against a modality name (``==``, ``!=``, ``in``, ``not in``).

    A name compared directly (``kind.name == "text"``) or as a member of a literal
    (``modality in ("audio", "face")``) counts; string methods and dictionary keys do not.
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        literals = []
        for operand in operands:
            if isinstance(operand, ast.Constant):
                literals.append(operand.value)
            elif isinstance(operand, ast.Tuple | ast.List | ast.Set):
                literals += [e.value for e in operand.elts if isinstance(e, ast.Constant)]
        if MODALITY_NAMES & {v for v in literals if isinstance(v, str)}:
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_outside_the_kinds_compares_modality_names():
    files = [
        *(p for p in CORE.rglob("*.py") if "kinds" not in p.relative_to(CORE).parts[:1]),
        *(ROOT / "ui").rglob("*.py"),
        *(ROOT / "screens").rglob("*.py"),
        ROOT / "app.py",
    ]
    found = [hit for path in sorted(files) for hit in name_comparisons(path)]
    assert found == [], "ask the kind (core.kinds) instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "hits"),
    [
        ('if kind.name == "text":\n    pass\n', 1),
        ('ok = modality in ("audio", "face")\n', 1),
        ('ok = "fusion" != name\n', 1),
        ('label = {"text": 1}["text"]\nok = kind.document_level\n', 0),
    ],
)
def test_a_modality_name_comparison_is_seen(tmp_path, source, hits):
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert len(name_comparisons(path)) == hits


def test_core_never_imports_streamlit():
    found = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "streamlit" or n.startswith("streamlit.") for n in names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
