"""The compiler: ProviderSpec → Python adapter modules."""
