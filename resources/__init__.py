"""Icons and images shipped with the app, read with importlib.resources (works from a wheel too)."""
