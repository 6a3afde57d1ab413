"""Training: data preparation, fine-tuning, the baseline and evaluation."""
