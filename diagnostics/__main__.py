import os
import sys

from diagnostics.agent.cli import main

code = main()
# Finalising the interpreter after torch was imported takes a second or more (measured
# in perf/RESULTS.md), longer than the probe itself. Everything is done by now: the
# output files are closed and NVML is shut down, so flush and leave without it.
if "logging" in sys.modules:
    sys.modules["logging"].shutdown()
for stream in (sys.stdout, sys.stderr):
    try:
        if stream is not None:  # None: started with the stream closed (`>&-`)
            stream.flush()
    except (OSError, ValueError):  # a closed pipe (`| head`): nothing more can be said
        pass
os._exit(code)
