"""Training: configuration, data, loss and the accelerate loop."""
