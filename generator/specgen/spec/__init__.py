"""The ProviderSpec language: JSON Schema, a position-keeping loader, ``extends``, semantic checks."""
