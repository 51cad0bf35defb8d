"""Trained pipelines: training jobs (`trn_…`) and the versioned artifacts (`art_…`) they produce."""
