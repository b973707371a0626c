"""Paper figures, one module each: ``paper_figures/<model>/<author><year>_<slug>.py``.

Each module defines ``DESCRIPTION`` (one line), ``config(preset) -> dict`` (everything that
determines the data, JSON-serialisable), ``compute(cfg)`` (runs the simulations; returns
picklable data) and ``plot(data, out_dir) -> list[Path]`` (matplotlib only; each figure is
written as PNG and PDF by :func:`simulations.plotting.save`, the PNG paths are returned, and data
of the quick preset are stamped with :data:`simulations.plotting.QUICK_NOTE`). ``solvable figure
NAME`` (NAME = module name with ``_`` → ``-``) computes through :mod:`paper_figures.cache`, so
re-plotting reuses the data of the same config and package version and traces nothing.
"""
