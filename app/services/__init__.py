"""Domain services: every rule lives here once, shared by the API, the pages and the workers."""
