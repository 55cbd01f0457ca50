"""Framework backends, registered as attribkit plugins."""
