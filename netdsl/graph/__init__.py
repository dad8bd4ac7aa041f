"""Containers as networkx graphs: building, shape inference, display."""
