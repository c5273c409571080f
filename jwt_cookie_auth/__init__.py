"""Cookie-based JWT sessions for Django and Django REST framework."""

__version__ = "0.1.0"
