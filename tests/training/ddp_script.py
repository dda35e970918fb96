"""Run under torchrun by test_ddp: two CPU processes (gloo) train one model."""
import sys

import torch

from audiodl.training import TrainConfig, train

out = sys.argv[1]
g = torch.Generator().manual_seed(0)
x = torch.randn(256, 8, generator=g)
y = (x[:, 0] > 0).float()[:, None]
ds = torch.utils.data.TensorDataset(x, y)
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(8, 1))
res = train(model, ds, ds, loss_fn=torch.nn.BCEWithLogitsLoss(),
            config=TrainConfig(epochs=3, batch_size=32, lr=0.1, seed=0), out_dir=out)
w = model[0].weight.detach()
torch.save(w, f"{out}/weight_rank{torch.distributed.get_rank()}.pt")
