"""Fit y = 3x + 2 with DistributedDataParallel over the gloo backend, on CPU."""
import argparse
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--model-dir", required=True)
    args = p.parse_args()

    dist.init_process_group("gloo")  # reads MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(rank)
    x = torch.randn(512, 1)
    y = 3 * x + 2 + 0.01 * torch.randn(512, 1)

    model = DistributedDataParallel(torch.nn.Linear(1, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(args.epochs):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()  # gradients are averaged across ranks here
        opt.step()
        reduced = loss.detach().clone()
        dist.all_reduce(reduced)
        if rank == 0:
            print(f"epoch {epoch} loss {reduced.item() / world:.5f}")

    if rank == 0:
        w, b = model.module.weight.item(), model.module.bias.item()
        print(f"world size {world}: learned weight {w:.3f} bias {b:.3f}")
        os.makedirs(args.model_dir, exist_ok=True)
        torch.save(model.module.state_dict(), os.path.join(args.model_dir, "model.pt"))
    # Every rank leaves together: a rank tearing gloo down while its peer has already exited
    # can wait for it forever.
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
