"""runtime_env: environment variables and a working directory for the
tasks and actors of a job (``init(runtime_env=...)``) or of one remote
function or actor class (``.options(runtime_env=...)``).

flare applies ``env_vars`` and ``working_dir`` in the worker that runs the
task, for the task's duration (an actor keeps them for its life); tasks
submitted from inside inherit them, as in Ray. A ``working_dir`` (a local
directory, less what ``excludes`` names, or a .zip file) is packed and
stored in the GCS once per session where it is first needed (init() for
the job's, the first submission for a task's), and tasks carry only its
package's URI; each node fetches and unpacks a package once (see
working_dir and working_dir_cache). Package installation (``pip``,
``conda``, ...) is not done: those keys are accepted with a warning, and
the packages must already be importable.
"""

from __future__ import annotations

import os
import pickle
import sys
import warnings
from typing import Any, Dict, List, Optional

from flare._private import working_dir as working_dir_module
from flare._private import working_dir_cache
from flare.exceptions import RuntimeEnvSetupError

_APPLIED = ("env_vars", "working_dir", "excludes", "worker_process_setup_hook")
_NOT_INSTALLED = ("pip", "conda", "uv", "py_modules", "py_executable", "config",
                  "container", "image_uri", "nsight", "java_jars")
SETUP_HOOK = "worker_process_setup_hook"


class _Normalized(dict):
    """What validate() returns: validating it again changes nothing."""


def validate(runtime_env: Any, where: str, job_level: bool = False) -> Optional[Dict[str, Any]]:
    """The normalized environment (None when empty); raises naming what is wrong.
    ``job_level``: init()'s, the only place a worker_process_setup_hook may be."""
    if runtime_env is None or isinstance(runtime_env, _Normalized):
        return runtime_env
    if not isinstance(runtime_env, dict):
        raise TypeError(f"{where}: runtime_env must be a dict, got {type(runtime_env).__name__}")
    unknown = sorted(set(runtime_env) - set(_APPLIED) - set(_NOT_INSTALLED))
    if unknown:
        raise ValueError(f"{where}: unknown runtime_env field(s) {', '.join(map(repr, unknown))}; "
                         f"flare applies {', '.join(_APPLIED)}")
    for key in sorted(set(runtime_env) & set(_NOT_INSTALLED)):
        warnings.warn(f"{where}: runtime_env[{key!r}] is not set up by flare; what it names "
                      f"must already be installed", stacklevel=3)
    normalized: Dict[str, Any] = _Normalized()
    env_vars = runtime_env.get("env_vars")
    if env_vars:
        if not isinstance(env_vars, dict):
            raise TypeError(f"{where}: runtime_env['env_vars'] must be a dict of str to str")
        for name, value in env_vars.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError(f"{where}: runtime_env['env_vars'] must map str to str, got "
                                f"{name!r}: {value!r}")
        normalized["env_vars"] = dict(env_vars)
    working_dir = runtime_env.get("working_dir")
    if working_dir:
        normalized["working_dir"] = working_dir_module.check_source(working_dir, where)
    excludes = runtime_env.get("excludes")
    if excludes:
        if isinstance(excludes, str) or not isinstance(excludes, (list, tuple)) or \
                not all(isinstance(pattern, str) for pattern in excludes):
            raise TypeError(f"{where}: runtime_env['excludes'] must be a list of gitignore-style "
                            f"patterns (str), got {excludes!r}")
        normalized["excludes"] = list(excludes)
    hook = runtime_env.get(SETUP_HOOK)
    if hook is not None:
        if not job_level:
            raise ValueError(f"{where}: runtime_env[{SETUP_HOOK!r}] can only be given to "
                             "init(runtime_env=...): it sets up every worker of the job")
        if not callable(hook) and not (isinstance(hook, str) and "." in hook):
            raise TypeError(f"{where}: runtime_env[{SETUP_HOOK!r}] must be a function or the "
                            f"'module.function' that names one, got {hook!r}")
        normalized[SETUP_HOOK] = hook
    return normalized or None


def run_setup_hook(hook: Any) -> None:
    """Runs a job's worker_process_setup_hook (a pickled function, or the
    name 'module.function' of one) in this worker, before its first task of
    the job; a failure is the task's RuntimeEnvSetupError."""
    import importlib

    import cloudpickle

    try:
        if isinstance(hook, str):
            module_name, _, function_name = hook.rpartition(".")
            function = getattr(importlib.import_module(module_name), function_name)
        else:
            function = cloudpickle.loads(hook)
        function()
    except Exception as error:  # noqa: BLE001 - reported as the task's error
        raise RuntimeEnvSetupError(f"the job's worker_process_setup_hook failed in this worker: "
                                   f"{type(error).__name__}: {error}") from error


def merge(parent: Optional[Dict[str, Any]],
          child: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """``child`` on top of ``parent``: its variables win, its directory replaces."""
    if not parent or not child:
        return child or parent
    merged = {**parent, **child}
    if "env_vars" in parent and "env_vars" in child:
        merged["env_vars"] = {**parent["env_vars"], **child["env_vars"]}
    return merged


def for_submission(session: Any, requested: Any, where: str) -> Optional[Dict[str, Any]]:
    """The environment a task submitted now runs in: the caller's, with the
    task's own on top, its working_dir shipped. Besides the user's fields it
    may carry CAPTURED_GROUP, the placement group that captures child tasks."""
    base = getattr(session, "runtime_env", None)
    if requested is None:
        return base
    return ship_working_dir(session, merge(base, validate(requested, where)), where)


def pack_working_dir(env: Optional[Dict[str, Any]],
                     where: str) -> Optional[working_dir_module.Package]:
    """The package of ``env``'s local working_dir; None when it has none or
    carries a package URI already. Raises ValueError when it is too large."""
    source = (env or {}).get("working_dir")
    if not source or working_dir_module.is_uri(source):
        return None
    return working_dir_module.pack(source, env.get("excludes", ()), where=where)


def with_uri(env: Dict[str, Any], uri: str) -> Dict[str, Any]:
    """``env`` with the package URI ``uri`` in place of its local
    working_dir (whose excludes are spent)."""
    shipped = _Normalized({k: v for k, v in env.items() if k != "excludes"})
    shipped["working_dir"] = uri
    return shipped


def ship_working_dir(session: Any, env: Optional[Dict[str, Any]],
                     where: str) -> Optional[Dict[str, Any]]:
    """``env`` with its local working_dir packed and stored in the GCS, once
    per session for each (directory, excludes): later submissions reuse it,
    so edits made after the first do not reach them (a new session packs
    again)."""
    source = (env or {}).get("working_dir")
    if not source or working_dir_module.is_uri(source):
        return env
    key = (source, tuple(env.get("excludes", ())))
    uri = session.shipped_working_dirs.get(key)
    if uri is None:
        with pack_working_dir(env, where) as package:
            working_dir_module.upload(session.core, package)
        uri = session.shipped_working_dirs[key] = package.uri
    return with_uri(env, uri)


CAPTURED_GROUP = "_captured_placement_group"


def encode(env: Optional[Dict[str, Any]]) -> bytes:
    return pickle.dumps(env) if env else b""


class Applied:
    """Applies an environment in this process and, unless kept, undoes it.
    ``copies`` turns a working_dir package URI into this node's copy."""

    def __init__(self, env: Dict[str, Any], copies: working_dir_cache.NodeCopies) -> None:
        self._saved_vars: Dict[str, Optional[str]] = {}
        self._saved_cwd: Optional[str] = None
        self._added_path: List[str] = []
        # First what can fail (fetching the package), so nothing is half set.
        working_dir = copies.path(env["working_dir"]) if env.get("working_dir") else None
        for name, value in env.get("env_vars", {}).items():
            self._saved_vars[name] = os.environ.get(name)
            os.environ[name] = value
        if working_dir:
            copies.enter(working_dir)
            self._saved_cwd = os.getcwd()
            os.chdir(working_dir)
            if working_dir not in sys.path:
                sys.path.insert(0, working_dir)
                self._added_path.append(working_dir)

    def undo(self) -> None:
        for name, value in self._saved_vars.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if self._saved_cwd is not None:
            try:
                os.chdir(self._saved_cwd)
            except OSError:
                pass
        for path in self._added_path:
            try:
                sys.path.remove(path)
            except ValueError:
                pass
