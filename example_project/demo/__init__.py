"""The demo's pages: home, login, a private page, the API endpoint and "your sessions"."""
