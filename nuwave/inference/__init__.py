"""Upsampling: the options a user chooses, the diffusion pipeline, long files in windows, one file's journey."""
