"""The flare package is layered: a module imports only from layers below its
own (or from modules listed before it in its own layer), so there is no
import cycle and nothing needs a function-local import to break one.

Reads the sources with ast (module-level and function-level imports, not
those under ``if TYPE_CHECKING:``); importing ``a.b.c`` also imports the
package ``a.b``, so a package's ``__init__`` counts as imported too.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import flare

PACKAGE_DIR = Path(flare.__file__).resolve().parent

# Bottom to top. Within a layer, a module may import those listed before it.
LAYERS: List[Tuple[str, List[str]]] = [
    ("protocol", ["flare._core", "flare._version", "flare.exceptions", "flare.cloudpickle",
                  "flare._private", "flare._private.protocol", "flare._private.node",
                  "flare._private.scheduling_strategies", "flare.context"]),
    ("serialization, runtime environments",
     ["flare._private.serialization", "flare._private.ignore_rules", "flare._private.working_dir",
      "flare._private.working_dir_cache", "flare._private.runtime_env"]),
    ("session state", ["flare._private.state"]),
    ("objects", ["flare._private.objects"]),
    ("refs, futures, generators, submission",
     ["flare._private.futures", "flare.object_ref", "flare.generator", "flare._private.options",
      "flare._private.placement", "flare._private.submission", "flare._private.task_errors"]),
    ("task graphs", ["flare.dag.dag_node", "flare.dag.input_node", "flare.dag.output_node",
                     "flare.dag.function_node", "flare.dag.class_node", "flare.dag"]),
    ("remote functions, actors, runtime",
     ["flare._private.runtime", "flare.remote_function", "flare.actor"]),
    ("api", ["flare.api"]),
    ("util", ["flare.util.accelerators.accelerators", "flare.util.accelerators",
              "flare.util.scheduling_strategies", "flare.util.placement_group",
              "flare.util.actor_pool", "flare.util.queue", "flare.util.multiprocessing",
              "flare.util", "flare._raylet", "flare.cluster_utils"]),
    ("top", ["flare", "flare.scripts", "flare._private.worker_main",
             "flare._private.fork_server"]),
]

RANK: Dict[str, Tuple[int, int]] = {
    module: (layer, position)
    for layer, (_, modules) in enumerate(LAYERS) for position, module in enumerate(modules)}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> Dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _resolve(importer: str, node: ast.AST, is_package: bool) -> Iterator[str]:
    """The flare modules an import statement names."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    assert isinstance(node, ast.ImportFrom)
    base = node.module or ""
    if node.level:
        anchor = importer.split(".")
        if not is_package:
            anchor = anchor[:-1]
        anchor = anchor[:len(anchor) - (node.level - 1)]
        base = ".".join(anchor + ([base] if base else []))
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        yield submodule if submodule in RANK else base


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(name: str, path: Path) -> Iterator[Tuple[str, int, bool]]:
    """(imported flare module, line, inside a function) for each import."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"

    def walk(node: ast.AST, in_function: bool) -> Iterator[Tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking_only(child):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for target in _resolve(name, child, is_package):
                    if target == "flare" or target.startswith("flare."):
                        yield target, child.lineno, in_function
            inner = in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            yield from walk(child, inner)

    yield from walk(tree, False)


def with_parents(target: str) -> Iterator[str]:
    """``a.b.c`` and the packages importing it runs first (``a.b``; not the
    root ``flare``, which only ever sits partly initialized above them)."""
    yield target
    parts = target.split(".")
    for end in range(len(parts) - 1, 1, -1):
        yield ".".join(parts[:end])


def test_every_module_has_a_layer():
    missing = sorted(set(package_modules()) - set(RANK))
    assert not missing, f"modules missing from LAYERS in {__file__}: {missing}"


def test_no_module_imports_upward():
    upward = []
    for name, path in package_modules().items():
        layer, position = RANK[name]
        for imported, line, in_function in imports_of(name, path):
            for target in with_parents(imported):
                if target not in RANK:
                    upward.append(f"{name}:{line} imports {target}, which is in no layer")
                    continue
                target_layer, target_position = RANK[target]
                implied = target != imported
                if target_layer > layer or (target_layer == layer and not implied and
                                            target_position >= position and target != name):
                    where = "in a function" if in_function else "at module level"
                    upward.append(f"{name}:{line} ({LAYERS[layer][0]}) imports {target} "
                                  f"({LAYERS[target_layer][0]}) {where}")
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_flare_modules_are_imported_at_module_level():
    """A function-local import of a flare module hides a cycle; none is left."""
    local = [f"{name}:{line} imports {imported} inside a function"
             for name, path in package_modules().items()
             for imported, line, in_function in imports_of(name, path) if in_function]
    assert not local, "function-local imports:\n" + "\n".join(local)
