"""Running nets: initialisation, the compiled executor, training."""
