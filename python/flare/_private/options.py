"""The options of remote functions, actors and actor methods: which exist,
their defaults and their checks."""

from __future__ import annotations

import inspect
from typing import Any, Dict

from flare._private import runtime_env
from flare._private.protocol import DYNAMIC, STREAMING

# The raylet's bounds (cpp/raylet/message_checks.h, cpp/common/wire_checks.h):
# what exceeds them is refused here, naming the option, before it is sent.
MAX_NUM_RETURNS = 1 << 16
# Retries, restarts and concurrency travel as 32-bit integers.
MAX_COUNT = 2**31 - 1


def is_count(value, low: int) -> bool:
    """Whether ``value`` is an int (not a bool) from ``low`` to MAX_COUNT."""
    return not isinstance(value, bool) and isinstance(value, int) and low <= value <= MAX_COUNT
MAX_RESOURCE_AMOUNT = 1e14

TASK_OPTIONS = {"num_cpus", "num_gpus", "resources", "num_returns", "max_retries",
                 "retry_exceptions", "name", "timeout_s", "memory", "scheduling_strategy",
                 "enable_task_events", "runtime_env", "accelerator_type", "max_calls",
                 "label_selector", "placement_group", "placement_group_bundle_index",
                 "placement_group_capture_child_tasks"}
# Where a task runs: a placement group (Ray's current and legacy spellings).
PLACEMENT_OPTIONS = ("scheduling_strategy", "placement_group", "placement_group_bundle_index",
                     "placement_group_capture_child_tasks")
# Accepted for Ray compatibility; they do not change how flare runs a task yet.
_NO_EFFECT_OPTIONS = {"enable_task_events", "accelerator_type", "max_calls",
                      "label_selector"}
TASK_DEFAULTS: Dict[str, Any] = {"num_cpus": 1, "num_gpus": 0, "resources": None, "num_returns": 1,
                             "max_retries": 3, "retry_exceptions": False, "name": None,
                             "memory": None, "timeout_s": None}




def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate_options(options: Dict[str, Any], allowed: set, where: str) -> Dict[str, Any]:
    """Raises ValueError/TypeError naming the first bad option."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown option(s) {', '.join(map(repr, unknown))}; valid "
                         f"options are {', '.join(sorted(allowed))}")
    for key in ("num_cpus", "num_gpus", "memory"):
        if key in options and options[key] is not None:
            value = options[key]
            if not _is_number(value) or not 0 <= value <= MAX_RESOURCE_AMOUNT:
                raise ValueError(f"{where}: {key} must be a number from 0 to "
                                 f"{MAX_RESOURCE_AMOUNT:g}, got {value!r}")
    resources = options.get("resources")
    if resources is not None:
        if not isinstance(resources, dict):
            raise TypeError(f"{where}: resources must be a dict of name to amount, got "
                            f"{type(resources).__name__}")
        for name, amount in resources.items():
            if not isinstance(name, str):
                raise TypeError(f"{where}: resource names must be strings, got {name!r}")
            if name in ("CPU", "GPU"):
                raise ValueError(f"{where}: use num_cpus/num_gpus instead of {name!r} in resources")
            if not _is_number(amount) or not 0 <= amount <= MAX_RESOURCE_AMOUNT:
                raise ValueError(f"{where}: resource {name!r} must be a number from 0 to "
                                 f"{MAX_RESOURCE_AMOUNT:g}, got {amount!r}")
    if "num_returns" in options:
        value = options["num_returns"]
        if value not in (STREAMING, DYNAMIC) and (isinstance(value, bool)
                                                  or not isinstance(value, int) or value < 0
                                                  or value > MAX_NUM_RETURNS):
            raise ValueError(f"{where}: num_returns must be an integer from 0 to "
                             f"{MAX_NUM_RETURNS}, 'streaming' or 'dynamic', got {value!r}")
    if "max_retries" in options:
        value = options["max_retries"]
        if not is_count(value, -1):
            raise ValueError(f"{where}: max_retries must be an integer from -1 to {MAX_COUNT}, "
                             f"got {value!r}")
    if "retry_exceptions" in options:
        value = options["retry_exceptions"]
        if not isinstance(value, bool):
            if not isinstance(value, (list, tuple)) or not all(
                    inspect.isclass(item) and issubclass(item, BaseException) for item in value):
                raise TypeError(f"{where}: retry_exceptions must be a bool or a list of "
                                f"exception classes, got {value!r}")
    if options.get("timeout_s") is not None:
        value = options["timeout_s"]
        if not _is_number(value) or not value > 0 or value == float("inf"):
            raise ValueError(f"{where}: timeout_s must be a positive number of seconds, "
                             f"got {value!r}")
    if options.get("runtime_env") is not None:
        # Normalized once here, not at every submission (it checks the disk).
        options["runtime_env"] = runtime_env.validate(options["runtime_env"], where)
    if "name" in options and options["name"] is not None and not isinstance(options["name"], str):
        raise TypeError(f"{where}: name must be a string")
    return options



METHOD_OPTIONS = {"num_returns", "name", "concurrency_group", "enable_task_events",
                  "max_task_retries", "retry_exceptions"}


def check_method_options(options: Dict[str, Any], where: str) -> Dict[str, Any]:
    return validate_options(options, METHOD_OPTIONS, where)
