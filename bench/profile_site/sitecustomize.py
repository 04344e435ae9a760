"""Profiling hook of bench/profile_crowd.py, loaded by a Streamlit server started with this directory on
``PYTHONPATH`` and ``METERMITRA_BENCH_PROFILE`` set to a directory: every script run is profiled on its
own thread (cProfile timed by ``time.thread_time``, so the wait for the GIL and the other threads' work is
not counted) and its stats written to ``run-<pid>-<n>.prof`` there. Without the variable it does nothing.
Never part of the product: only bench/profile_crowd.py puts it on a server's path.
"""

import os

if os.environ.get("METERMITRA_BENCH_PROFILE"):
    import cProfile
    import itertools
    import time
    from pathlib import Path

    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    _OUT = Path(os.environ["METERMITRA_BENCH_PROFILE"])
    _RUNS = itertools.count()
    _run_script = ScriptRunner._run_script

    def _profiled_run_script(self, rerun_data):
        profiler = cProfile.Profile(time.thread_time)
        profiler.enable()
        try:
            return _run_script(self, rerun_data)
        finally:
            profiler.disable()
            profiler.dump_stats(_OUT / f"run-{os.getpid()}-{next(_RUNS)}.prof")

    ScriptRunner._run_script = _profiled_run_script
