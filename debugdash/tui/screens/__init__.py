"""Modal screens: help and the remote-access grant."""
