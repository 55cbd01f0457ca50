"""Built-in renderers, registered as attribkit plugins."""
