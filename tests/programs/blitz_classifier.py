"""An image classifier in the style of PyTorch's 60-minute blitz, "Training a classifier".

Written for minicnn's tests (not copied from the tutorial): the same steps with the same
calls — a Net of conv(3, 6, 5), 2x2 max pooling, conv(6, 16, 5), fc 400 -> 120 -> 84 -> 10,
CrossEntropyLoss and SGD(lr=0.001, momentum=0.9), the loop ``for i, data in
enumerate(trainloader, 0)`` with a running loss printed every 200 mini-batches, then
``torch.save(net.state_dict(), PATH)``, a fresh Net that loads it back with
``torch.load(PATH, weights_only=True)``, ``_, predicted = torch.max(outputs, 1)`` under
``torch.no_grad()``, overall and per-class accuracy.

CIFAR-10 is replaced by generated 32x32 colour images ("shapes-10"), because the tests run
offline and must be fast and deterministic: each class is one of 10 (colour, stripe
orientation) pairs drawn at a random position over noise — colour and orientation are what
the first conv layers pick up, so a small CNN learns them in a few epochs, and the set is
generated the same way by NumPy wherever it runs. ``--init PATH`` starts from saved weights
and ``--no-shuffle`` keeps the batch order fixed, so the run is deterministic and can be
compared number for number with the same program under real torch.
"""
import argparse

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

classes = ("red-h", "red-v", "green-h", "green-v", "blue-h", "blue-v", "yellow-h", "yellow-v", "cyan-h", "cyan-v")
COLOURS = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1)]


def shapes10(count, seed):
    """(count, 3, 32, 32) float32 images in [-1, 1] and int64 labels: a striped coloured square."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    images = rng.uniform(0.0, 0.3, size=(count, 3, 32, 32))
    stripes = (np.arange(12) % 4 < 2).astype(float)
    for image, label in zip(images, labels):
        colour = np.array(COLOURS[label // 2], dtype=float)[:, None, None]
        pattern = np.tile(stripes[:, None], (1, 12)) if label % 2 == 0 else np.tile(stripes[None, :], (12, 1))
        row, col = rng.integers(0, 20, 2)
        image[:, row:row + 12, col:col + 12] += colour * pattern
    return torch.tensor((images * 2 - 1).astype(np.float32)), torch.tensor(labels)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def main():
    parser = argparse.ArgumentParser(description="blitz-style classifier on shapes-10")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-size", type=int, default=2000)
    parser.add_argument("--test-size", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--log-every", type=int, default=200, metavar="N", help="mini-batches")
    parser.add_argument("--init", default=None, help="a state dict to start from")
    parser.add_argument("--no-shuffle", action="store_true")
    parser.add_argument("--path", default="./shapes_net.pth")
    args = parser.parse_args()
    torch.manual_seed(0)

    trainset = TensorDataset(*shapes10(args.train_size, seed=1))
    testset = TensorDataset(*shapes10(args.test_size, seed=2))
    trainloader = DataLoader(trainset, batch_size=args.batch_size, shuffle=not args.no_shuffle, num_workers=2)
    testloader = DataLoader(testset, batch_size=args.batch_size, shuffle=False, num_workers=2)

    net = Net()
    if args.init is not None:
        net.load_state_dict(torch.load(args.init, weights_only=True))
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)

    for epoch in range(args.epochs):
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            if i % args.log_every == args.log_every - 1:
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / args.log_every:.3f}")
                running_loss = 0.0
    print("Finished Training")
    torch.save(net.state_dict(), args.path)

    net = Net()
    net.load_state_dict(torch.load(args.path, weights_only=True))
    correct, total = 0, 0
    correct_pred = {name: 0 for name in classes}
    total_pred = {name: 0 for name in classes}
    with torch.no_grad():
        for images, labels in testloader:
            outputs = net(images)
            _, predicted = torch.max(outputs, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
            for label, prediction in zip(labels, predicted):
                total_pred[classes[label]] += 1
                correct_pred[classes[label]] += int(label == prediction)
    print(f"Accuracy of the network on the {total} test images: {100 * correct // total} %")
    for name in classes:
        print(f"Accuracy for class: {name:8s} is {100 * correct_pred[name] / max(total_pred[name], 1):.1f} %")


if __name__ == "__main__":
    main()
