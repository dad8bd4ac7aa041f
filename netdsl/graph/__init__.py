"""Containers as networkx graphs: building, shape inference, editing, display.

Importing the package registers how nets show themselves in Jupyter (``html``) and how
AttentionLayer[net] is built (``attention_net``)."""

from . import html as _html  # noqa: F401  (fills layers.base.VIEWS)
from . import attention_net as _attention_net  # noqa: F401  (fills layers.attention.NET_SCORING)
