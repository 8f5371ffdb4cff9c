"""Audio in and out, and the signal processing every role shares: validated reading and atomic writing, resampling
and the known-band merge, cutoff detection, and the degradations of training and the benchmark."""
