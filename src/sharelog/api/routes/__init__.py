"""One module per resource; each route parses, calls the store, responds."""
