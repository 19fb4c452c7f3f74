"""The product version, reported in every API envelope and by /api/health/."""

__version__ = "1.0.0"
