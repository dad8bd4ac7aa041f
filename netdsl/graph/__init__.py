"""Containers as networkx graphs: building, shape inference, editing, display.

Importing the package registers how AttentionLayer[net] is built (``attention_net``).
How nets show themselves in Jupyter (``html``, with the diagram) is registered by the
built-ins that draw nets (``builtins/pictures``), loaded when a net is first shown: a
process that only builds nets does not import it (start-up time)."""

from . import attention_net as _attention_net  # noqa: F401  (fills layers.attention.NET_SCORING)
