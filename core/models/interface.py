"""The interface every neural model shares beside its reference ``forward``.

``forward`` keeps the reference semantics (its return type depends on the model and on
``return_embedding``) so reference checkpoints and code keep working. Everything in this
project (trainers, scoring, explanations) calls the named methods below instead, so no
caller needs to know which model it holds or unpack a tuple.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class Attention:
    """Logits and the attention weights of one batch, from one forward pass.

    Attributes
    ----------
    logits : torch.Tensor
        Shape (B, C); index 1 is the depressed class.
    temporal : torch.Tensor
        Shape (B, T); softmax over time (each row sums to 1).
    spatial : torch.Tensor or None
        Shape (B, T); the per-frame gate in (0, 1) of models that have one
        (:attr:`NeuralClassifier.has_spatial_gate`), else None.
    """

    logits: torch.Tensor
    temporal: torch.Tensor
    spatial: torch.Tensor | None = None


class NeuralClassifier(nn.Module, ABC):
    """A torch classifier with named ways to get its logits, embedding and attention.

    Subclasses implement :meth:`embed` and :meth:`logits_from_embedding`; :meth:`logits`
    composes them, so ``logits(x)`` runs exactly the operations ``forward(x)`` runs.
    Models that attend over time also implement :meth:`attend`.

    Attributes
    ----------
    has_spatial_gate : bool
        Whether :meth:`attend` returns a spatial gate (class attribute).
    """

    has_spatial_gate: bool = False

    @abstractmethod
    def embed(self, x: Any) -> torch.Tensor:
        """Return the (B, E) embedding of a batch (the input of the last layer)."""

    @abstractmethod
    def logits_from_embedding(self, embedding: torch.Tensor) -> torch.Tensor:
        """Return the (B, C) logits of (B, E) embeddings from :meth:`embed`."""

    def logits(self, x: Any) -> torch.Tensor:
        """Return the (B, C) logits of a batch; equal to what ``forward`` computes.

        Parameters
        ----------
        x : torch.Tensor or mapping of str to torch.Tensor
            The batch as the model's ``forward`` takes it (a fusion model takes its
            named inputs as a mapping).

        Returns
        -------
        torch.Tensor
            Shape (B, C).
        """
        embedding = self.embed(x)  # (B, E)
        return self.logits_from_embedding(embedding)  # (B, C)

    def attend(self, x: torch.Tensor) -> Attention:
        """Return the logits and attention weights of a batch in one pass.

        Named ``attend`` because ``attention`` is a submodule of the reference
        ``AudioRNN`` (a parameter name that reference checkpoints carry).

        Raises
        ------
        TypeError
            If the model has no attention (here, the default).
        """
        raise TypeError(f"{type(self).__name__} has no attention weights to show")
