"""One module per section of the run, each with its contenders, checks and targets:
``import_`` (``import`` is a keyword), ``sync``, ``stream``, ``async_``, ``build``, ``conform``.
"""
