"""The benchmark suite behind ``bench/run.py`` (the entry point; see bench/README.md).

``config``    paths, the FULL and QUICK repetition plans, the targets
``workload``  what every contender sends and must get back; loading LiteLLM
``measure``   rows, rounds, medians, paired ratios, CPU time
``server``    the fake provider's lifecycle (``bench/fakeserver.py`` in a child process)
``subproc``   the environment and ``specgen`` command of measured subprocesses
``sections``  one module per section: its contenders, checks and targets
``profiles``  cProfile / ``-X importtime`` profiles of the targets
``report``    the run's record, the printed table and the results file
"""
