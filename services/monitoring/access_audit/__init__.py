"""The access audit of monitoring's reads of restricted records."""
