"""Figures of Maloney-Roberts-Sully 2022, Bahri et al. 2021 and Bordelon-Atanasov-Pehlevan 2024."""
