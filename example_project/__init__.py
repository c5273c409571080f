"""A runnable demo of jwt_cookie_auth (``make demo``). Not the test settings."""
