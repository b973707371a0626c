"""Figures of Paquette, Paquette, Xiao, Pennington 2024 (arXiv 2405.15074), the PLRF model."""
