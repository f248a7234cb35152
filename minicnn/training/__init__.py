"""Training, evaluation and prediction for the reference models on MNIST.

The pieces, one job each:

    config      TrainConfig (the recipe, stored in checkpoints) and RunOptions (paths, device)
    data        MNIST as normalised float32 batches (fast path) or augmented samples
    recipe      optimizer and LR scheduler from the config
    trainer     the epoch loop, validation, checkpoints per epoch, exact resume
    checkpoint  reading/writing .npz checkpoints, RNG states, model/recipe checks
    metrics     running loss/accuracy, metrics.csv/json, confusion matrix, precision/recall
    progress    tqdm bar or plain progress lines
    plots       curves.png and confusion.png (matplotlib, optional)
    images      PNG/JPEG digits -> MNIST-like inputs
"""
from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .config import DataSource, RunOptions, TrainConfig
from .trainer import Evaluation, RunResult, Trainer, evaluate, predict_probabilities

__all__ = [
    "Checkpoint", "CheckpointError", "load_checkpoint", "save_checkpoint",
    "DataSource", "RunOptions", "TrainConfig",
    "Evaluation", "RunResult", "Trainer", "evaluate", "predict_probabilities",
]
