"""Containers as networkx graphs: building, shape inference, editing, display.

Importing the package registers how nets show themselves in Jupyter (``html``)."""

from . import html as _html  # noqa: F401  (fills layers.base.VIEWS)
