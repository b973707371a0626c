"""Figures of Liu, Liu & Gore 2025 (arXiv 2505.10465), the superposition toy model."""
