"""Sepatu tunanetra: the shoe that warns blind walkers of obstacles."""
