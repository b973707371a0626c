"""Figures of Liu & Tegmark 2023 (lottery-ticket ensembles, arXiv 2310.02258)."""
