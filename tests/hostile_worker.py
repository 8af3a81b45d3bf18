"""An analysis worker that dies or hangs on marked messages, for the pool's tests:
`python -m tests.hostile_worker` speaks triage/worker.py's protocol."""

import logging
import os
import time

import triage.stages

real = triage.stages.analyse_raw


def hostile(raw, rules, uid=None):
    if b"CLOSE-THEN-KILL " in raw.data:  # stops reading, says so in a file, then dies
        os.close(0)
        with open(raw.data.split(b"CLOSE-THEN-KILL ")[1].split()[0].decode(), "a") as taken:
            taken.write("taken\n")
        time.sleep(1)
        os.kill(os.getpid(), 9)
    if b"KILL-THE-WORKER" in raw.data:
        os.kill(os.getpid(), 9)  # as the OOM killer does
    if b"HANG-THE-WORKER" in raw.data:
        time.sleep(3600)
    if b"SLOW-DOWN" in raw.data:
        time.sleep(1)
    if b"LOG-A-WARNING" in raw.data:
        logging.getLogger("triage.parse").warning("odd message %s", raw.origin)
        logging.getLogger("triage.parse").info("not at the poller's level: never sent")
    if b"EXIT-AT-ONCE" in raw.data:
        os._exit(3)
    return real(raw, rules, uid)


triage.stages.analyse_raw = hostile

from triage.worker import main  # noqa: E402 - after the patch, which it imports

if __name__ == "__main__":
    main()
