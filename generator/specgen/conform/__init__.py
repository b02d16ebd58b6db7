"""The conformance runner: drives generated adapters against loopback fakes of providers."""
