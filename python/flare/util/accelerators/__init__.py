"""``ray.util.accelerators``: accelerator type constants for ``accelerator_type=``.

flare accepts the option for compatibility; it does not yet restrict where a
task runs by accelerator type.
"""

import warnings
from typing import Any

from flare.util.accelerators import accelerators
from flare.util.accelerators.accelerators import *  # noqa: F401,F403

__all__ = [name for name in dir(accelerators) if name.isupper()] + ["NVIDIA_TESLA_A100"]


def __getattr__(name: str) -> Any:
    # Ray's old name for NVIDIA_A100, kept with a warning as Ray does.
    if name == "NVIDIA_TESLA_A100":
        warnings.warn("NVIDIA_TESLA_A100 is deprecated, use NVIDIA_A100 instead",
                      DeprecationWarning, stacklevel=2)
        return accelerators.NVIDIA_A100
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
