"""flare's internals: not a public API."""
