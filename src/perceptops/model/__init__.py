"""The safety net, general training, pseudo-label fine-tuning, evaluation."""
