"""Trained-pipeline benchmark: one supplier's layout, before and after training."""
