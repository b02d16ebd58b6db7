"""`specgen conform`: drives generated adapters against loopback fakes of providers (see :mod:`.runner`)."""
