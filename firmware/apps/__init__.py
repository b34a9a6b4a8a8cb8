"""Device applications: apps/<device>/logic.py (pure) + app.py (asyncio wiring)."""
