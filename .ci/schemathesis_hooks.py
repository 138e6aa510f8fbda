"""schemathesis hooks for .ci/contracts (loaded through SCHEMATHESIS_HOOKS).

None are needed today: the control API refuses bodies that are not JSON objects, and its
path and query rejections answer its own `{"error"}` JSON. The file stays so that a hook
can be added in one place.
"""
