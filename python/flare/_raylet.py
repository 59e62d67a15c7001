"""``ray._raylet`` names that Ray programs import directly (``from
ray._raylet import ObjectRef``). flare has no such extension module; this
re-exports the same classes from where they live."""

from flare.generator import (DynamicObjectRefGenerator, ObjectRefGenerator,
                             StreamingObjectRefGenerator)
from flare.object_ref import ObjectRef

__all__ = ["DynamicObjectRefGenerator", "ObjectRef", "ObjectRefGenerator",
           "StreamingObjectRefGenerator"]
