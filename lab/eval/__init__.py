"""Evaluation: datasets, corpus metrics, perturbations, regression gates, stability, blind A/B."""
