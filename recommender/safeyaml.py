"""YAML for front matter, with a budget: no alias bombs, no nesting that exhausts the stack.

``yaml.safe_load`` shares one object between an anchor and its aliases, so a 365-byte
"billion laughs" document loads quickly but turns into gigabytes the moment it is copied or
written as JSON (the store keeps front matter as metadata). :func:`load_yaml` composes the node
graph first, then measures what it expands to, counting every alias as a full copy, and refuses:

- more than :data:`MAX_ALIASES` aliases,
- an expanded document of more than :data:`MAX_NODES` nodes (scalars, lists and mappings),
- nesting deeper than :data:`MAX_DEPTH` (checked while composing, before Python's stack is),
- a recursive alias (an anchor used inside itself).

Front matter that a person wrote (a few dozen fields, a list of tags, maybe an anchor reused
for two fields) is far inside these bounds. Errors are :class:`YAMLLimitError`, a
``ValueError`` whose message says which bound was passed; callers add the file name.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_ALIASES = 100
MAX_NODES = 10_000
MAX_DEPTH = 64


class YAMLLimitError(ValueError):
    """A YAML document past one of this module's bounds."""


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases and nesting while it composes the node graph.

    The pure-Python loader on purpose: libyaml's ``CSafeLoader`` composes in C, out of reach
    of these counters.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YAMLLimitError(f"more than {MAX_ALIASES} aliases (*name)")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise YAMLLimitError(f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def expanded_size(root: Node, limit: int = MAX_NODES) -> int:
    """Nodes in the document with every alias expanded; stops counting past ``limit``.

    Each node's expanded size is computed once (memoized), so a bomb is measured in time
    linear in its *written* size; a node met again while it is being measured is a cycle.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YAMLLimitError("a recursive alias (an anchor used inside itself)")
        if depth > MAX_DEPTH:
            raise YAMLLimitError(f"nested deeper than {MAX_DEPTH} levels")
        active.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            children: list[Node] = list(node.value)
        elif isinstance(node, MappingNode):
            children = [item for pair in node.value for item in pair]
        else:
            children = []
        for child in children:
            total += size(child, depth + 1)
            if total > limit:
                break
        active.discard(key)
        sizes[key] = total
        return total

    return size(root, 0)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)`` within this module's bounds (:class:`YAMLLimitError` past them)."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if expanded_size(node) > MAX_NODES:
            raise YAMLLimitError(
                f"expands to more than {MAX_NODES} values (aliases counted as copies)"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()
