"""A 2-D map of a collection: every point's embedding laid out (`project`), clustered and labelled
(`labels`), computed from the store (`map`)."""
