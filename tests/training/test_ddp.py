import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))


def test_torchrun_two_processes_stay_in_sync(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
           "--master_port=29533", os.path.join(HERE, "ddp_script.py"), str(tmp_path)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    w0 = torch.load(tmp_path / "weight_rank0.pt")
    w1 = torch.load(tmp_path / "weight_rank1.pt")
    assert torch.equal(w0, w1), "DDP replicas diverged"
    assert (tmp_path / "best.pt").exists() and (tmp_path / "log.jsonl").exists()
