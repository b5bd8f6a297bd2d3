"""The cascade engine: the delivery branch, the cache of children, and how each child is brought to its target."""
