"""A digit classifier written against torch's API the way PyTorch's examples/mnist/main.py uses it.

Written for minicnn's tests (not copied from that repository): the same calls in the same
roles — an accelerator check that picks the device, argparse flags with that example's
names and defaults, a Net of two 3x3 convolutions (32 and 64 channels), max pooling,
dropout, fc 9216 -> 128 -> 10 and log_softmax, trained with nll_loss by Adadelta (lr 1.0)
under StepLR(step_size=1, gamma=0.7); DataLoader kwargs num_workers / pin_memory /
persistent_workers / shuffle on an accelerator; a test loop counting
``pred.eq(target.view_as(pred))``; and ``torch.save(model.state_dict(), "mnist_cnn.pt")``.

Two flags are this file's own, so that a test can run it in seconds: ``--subset`` and
``--test-subset`` cut the data sets to their first N images. The tests run it with its
imports swapped to minicnn (tests/test_programs.py).
"""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torchvision import datasets, transforms


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)    # 28x28 -> 26x26
        self.conv2 = nn.Conv2d(32, 64, 3, 1)   # 26x26 -> 24x24, pooled to 12x12: 64 * 144 = 9216
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        x = self.dropout1(F.max_pool2d(x, 2))
        x = torch.flatten(x, 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def train_epoch(args, model, device, loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            seen = batch_idx * len(data)
            print(f"Train Epoch: {epoch} [{seen}/{len(loader.dataset)} "
                  f"({100.0 * batch_idx / len(loader):.0f}%)]\tLoss: {loss.item():.6f}")
            if args.dry_run:
                break


def evaluate(model, device, loader):
    model.eval()
    total_loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            total_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    count = len(loader.dataset)
    print(f"\nTest set: Average loss: {total_loss / count:.4f}, "
          f"Accuracy: {correct}/{count} ({100.0 * correct / count:.0f}%)\n")


def parse_args():
    parser = argparse.ArgumentParser(description="MNIST convnet (examples/mnist style)")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N")
    parser.add_argument("--test-batch-size", type=int, default=1000, metavar="N")
    parser.add_argument("--epochs", type=int, default=14, metavar="N")
    parser.add_argument("--lr", type=float, default=1.0, metavar="LR")
    parser.add_argument("--gamma", type=float, default=0.7, metavar="M")
    parser.add_argument("--no-accel", action="store_true", help="disables accelerator")
    parser.add_argument("--dry-run", action="store_true", help="quickly check a single pass")
    parser.add_argument("--seed", type=int, default=1, metavar="S")
    parser.add_argument("--log-interval", type=int, default=10, metavar="N")
    parser.add_argument("--save-model", action="store_true")
    parser.add_argument("--data-root", default="../data")
    parser.add_argument("--subset", type=int, default=None, metavar="N")
    parser.add_argument("--test-subset", type=int, default=None, metavar="N")
    return parser.parse_args()


def first(dataset, n):
    return dataset if n is None else torch.utils.data.Subset(dataset, range(n))


def main():
    args = parse_args()
    use_accel = not args.no_accel and torch.accelerator.is_available()
    torch.manual_seed(args.seed)
    device = torch.accelerator.current_accelerator() if use_accel else torch.device("cpu")

    train_kwargs = {"batch_size": args.batch_size}
    test_kwargs = {"batch_size": args.test_batch_size}
    if use_accel:
        loader_kwargs = {"num_workers": 1, "persistent_workers": True, "pin_memory": True, "shuffle": True}
        train_kwargs.update(loader_kwargs)
        test_kwargs.update(loader_kwargs)

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_set = datasets.MNIST(args.data_root, train=True, download=True, transform=transform)
    test_set = datasets.MNIST(args.data_root, train=False, transform=transform)
    train_loader = torch.utils.data.DataLoader(first(train_set, args.subset), **train_kwargs)
    test_loader = torch.utils.data.DataLoader(first(test_set, args.test_subset), **test_kwargs)

    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train_epoch(args, model, device, train_loader, optimizer, epoch)
        evaluate(model, device, test_loader)
        scheduler.step()

    if args.save_model:
        torch.save(model.state_dict(), "mnist_cnn.pt")


if __name__ == "__main__":
    main()
