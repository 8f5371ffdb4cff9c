"""Upsampling: the options a user chooses, the diffusion pipeline, loading a model, long files in windows, one
file's journey."""
