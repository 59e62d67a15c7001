"""``ray.cloudpickle``: Ray ships its own copy of cloudpickle; flare uses the
installed cloudpickle package, re-exported here under that name so that
``from flare import cloudpickle`` and ``flare.cloudpickle.dumps`` work."""

from cloudpickle import *  # noqa: F401,F403 - the module's whole public API
from cloudpickle import __all__, __version__  # noqa: F401
from cloudpickle.cloudpickle import DEFAULT_PROTOCOL  # noqa: F401
