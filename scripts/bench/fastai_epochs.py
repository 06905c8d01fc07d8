"""A fastai callback that records each epoch's losses, metrics and seconds, shared by the
CamVid scripts (`fastai_camvid.py`, `../reference/camvid_lockstep.py`)."""
import time

from fastai.callback.core import Callback


class EpochRows(Callback):
    """`rows`: one dict per epoch, the Recorder's losses and metrics by name, and `time_s`."""
    order = 100

    def __init__(self):
        self.rows = []

    def before_epoch(self):
        self.start = time.time()

    def after_epoch(self):
        rec = self.learn.recorder
        names = [str(n) for n in rec.metric_names[1:-1]]
        row = dict(zip(names, [float(v) for v in rec.log[1:len(names) + 1]]))
        row["time_s"] = time.time() - self.start
        self.rows.append(row)
