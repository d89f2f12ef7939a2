"""A GPT-style causal language model of fixed-length token sequences (Hugging Face ``transformers``).

A sequence x = (x_1, …, x_L) of ids in 0..V-1 is scored from a BOS context:

    log p(x) = Σ_t log softmax(f(BOS, x_1, …, x_{t-1}))[x_t],

where f is the network's next-token logits restricted to the V ids of the source (the logit of
BOS — id V of a model built here — and of any other id ≥ V of a checkpoint is −inf, so those are
never generated and every distribution sums to 1 over the source's ids). Training minimises the
mean next-token cross-entropy of that same distribution with AdamW, ``steps`` minibatches per
generation (constant learning rate, global-norm gradient clipping, bfloat16 autocast on CUDA).

Every dropout rate is set to 0 (a checkpoint's too: OPT fine-tuned with its config would use 0.1)
and the network stays in ``eval`` mode even while it trains, so a fit is a deterministic function
of the starting weights, the data and the ``fit`` stream (bitwise on the CPU), with no second
source of noise besides the minibatch order. Scoring and sampling run in float32, so
log-probabilities do not depend on ``mixed_precision``.

Sampling feeds one token at a time with the key/value cache, ``eval_batch`` sequences at once.
``decoding: sample`` draws each token from the model after the repetition penalty, the
temperature λ, ``top_k`` and ``top_p`` (:mod:`autophagy.text.decoding_rules`). ``greedy`` and ``beam``
draw the first token from the model (after ``top_k``/``top_p``), so the n samples differ, then
search the remaining L − 1 tokens for the most probable continuation: beam search keeps the
``beam_size`` best partial sequences by their summed log-probability (after the repetition
penalty), over a fixed length (no end token); greedy is beam search of width 1. Samples that
share a first token share their continuation, so each distinct first token is searched once.
Shumailov et al. (2024) generated the text each OPT-125m generation trained on by beam search.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import transformers

from autophagy._validation import check, validate
from autophagy.core.generator import check_bias, check_fitted
from autophagy.exceptions import DegenerateFitError, InvalidParameterError
from autophagy.neural._torch import autocast, generator_from, require_torch, resolve_device
from autophagy.neural.base import (
    check_finite_loss,
    load_module_arrays,
    minibatches,
    module_arrays,
    seeded_global,
)
from autophagy.registry import get
from autophagy.text import decoding_rules as decoding
from autophagy.text._hf import quiet_transformers
from autophagy.text.pretrained import check_pretrained

if TYPE_CHECKING:
    from autophagy.text.transformer import TransformerConfig

torch = require_torch()
F = torch.nn.functional


def _no_dropout(config: Any) -> Any:
    """Set every dropout-like rate (a float key containing "drop") of a transformers config to 0."""
    for key, value in config.to_dict().items():
        if "drop" in key.lower() and isinstance(value, float):
            setattr(config, key, 0.0)
    return config


@contextlib.contextmanager
def _checkpoint(path: str) -> Iterator[None]:
    """Turn transformers' failure to read the checkpoint at ``path`` into the canonical error."""
    try:
        yield
    except (OSError, ValueError, KeyError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InvalidParameterError(
            "The 'generator.pretrained' parameter must be a local causal-LM checkpoint that "
            f"transformers loads offline. Got {path!r} instead ({reason})."
        ) from None


def _reorder(cache: Any, index: Any) -> Any:
    """Key/value cache of hypotheses ``index`` (m,) of the previous step (a Cache or legacy tuples)."""
    if hasattr(cache, "reorder_cache"):
        cache.reorder_cache(index)
        return cache
    return tuple(tuple(t.index_select(0, index) for t in layer) for layer in cache)


class TransformerLM:
    """A causal LM of token sequences (n, seq_len): float64 integer ids in ``0..vocab_size-1``.

    Args:
        config: the ``generator`` config (:class:`TransformerConfig`).
        vocab_size: V, the source's number of token ids.
        seq_len: L, the length of every sampled sequence.

    Attributes:
        bos: the id of the BOS context token (V for the source's vocabulary; a checkpoint's own
            ``bos_token_id`` with ``vocab: pretrained``).
        net_: the trained ``transformers`` causal-LM module (on ``device``, eval mode).
        losses_: the minibatch cross-entropy (nats per token) of every training step, (steps,).

    Raises:
        InvalidParameterError: a ``pretrained`` path that is not a model directory, a checkpoint
            whose vocabulary is smaller than V (``vocab: pretrained``) or whose positions are
            fewer than L.
    """

    def __init__(self, config: TransformerConfig, vocab_size: int, seq_len: int) -> None:
        self.config = config
        self.vocab_size = int(vocab_size)
        self.seq_len = int(seq_len)
        self.device = resolve_device(config.device)
        check(self.vocab_size >= 1, "vocab_size", "an int >= 1", vocab_size)
        check(self.seq_len >= 1, "seq_len", "an int >= 1", seq_len)
        if config.pretrained is None:
            self._arch = transformers.GPT2Config(
                vocab_size=self.vocab_size + 1, n_positions=self.seq_len,
                n_layer=config.n_layer, n_head=config.n_head, n_embd=config.n_embd,
                bos_token_id=self.vocab_size, eos_token_id=self.vocab_size,
            )  # fmt: skip
        else:
            check_pretrained(config.pretrained)
            with _checkpoint(config.pretrained):
                auto = transformers.AutoConfig
                self._arch = auto.from_pretrained(config.pretrained, local_files_only=True)
        _no_dropout(self._arch)
        self.bos = self.vocab_size if config.vocab == "source" else self._pretrained_bos()
        positions = getattr(self._arch, "max_position_embeddings", None)  # GPT-2 maps n_positions here
        self._max_len = int(positions) if positions else self.seq_len
        check(
            self.seq_len <= self._max_len, "data.seq_len",
            f"<= {self._max_len}, the positions of the checkpoint generator.pretrained", self.seq_len,
        )  # fmt: skip

    def _pretrained_bos(self) -> int:
        rows = int(self._arch.vocab_size)
        check(
            rows >= self.vocab_size, "generator.pretrained",
            f"a checkpoint with a vocabulary of >= {self.vocab_size} ids (the source's) for generator.vocab "
            f"'pretrained' ({rows} ids here; tokenize the data with the checkpoint's tokenizer, "
            "or use vocab 'source')",
            self.config.pretrained,
        )  # fmt: skip
        bos = getattr(self._arch, "bos_token_id", None)
        if bos is None:
            allowed = "a checkpoint with a bos_token_id"
            check(rows > self.vocab_size, "generator.pretrained", allowed, self.config.pretrained)
            bos = self.vocab_size
        return int(bos)

    @classmethod
    def from_pretrained(
        cls, path: str, *, vocab_size: int, seq_len: int, **config: Any
    ) -> TransformerLM:
        """The checkpoint at ``path`` as it is, ready to sample and score (loaded offline).

        ``config`` holds further :class:`TransformerConfig` keys; ``vocab`` defaults to
        ``pretrained`` (the data's ids are the checkpoint's). Like a fitted generator, it can
        be fine-tuned with :meth:`fit` when ``init`` is ``warm_start``.
        """
        raw = {"kind": "transformer", "vocab": "pretrained", **config, "pretrained": str(path)}
        config_model = get("generator", "transformer").config  # the registered TransformerConfig
        lm = cls(validate(config_model, raw, "generator"), vocab_size, seq_len)  # type: ignore[arg-type]  # (Entry.config: type | None)
        lm.net_ = lm._network(np.random.default_rng(lm.config.base_seed), weights=True)
        lm.losses_ = np.empty(0)
        return lm

    # ----------------------------------------------------------------------------- networks

    def _network(self, rng: np.random.Generator, *, weights: bool) -> Any:
        """A new network: a checkpoint's weights (``weights``) or random ones drawn from ``rng``."""
        cfg, arch = self.config, copy.deepcopy(self._arch)  # resizing edits a model's config
        auto = transformers.AutoModelForCausalLM
        with seeded_global(rng), quiet_transformers():
            if cfg.pretrained is None:
                net: Any = transformers.GPT2LMHeadModel(arch)
            else:
                with _checkpoint(cfg.pretrained):
                    if weights:
                        net = auto.from_pretrained(cfg.pretrained, config=arch, local_files_only=True)
                    else:
                        net = auto.from_config(arch)
                if cfg.vocab == "source":
                    net.resize_token_embeddings(self.vocab_size + 1)
        # transformers 5 renamed the cache argument ``past_key_values`` to ``cache``
        params = inspect.signature(net.forward).parameters
        self._cache_key = "cache" if "cache" in params else "past_key_values"
        return net.float().to(self.device).eval()

    def _start(self, rng: np.random.Generator) -> Any:
        """The network a fit starts from (``init``: base, scratch or warm_start)."""
        cfg = self.config
        if cfg.init == "warm_start" and hasattr(self, "net_"):
            return self.net_
        if cfg.init == "scratch":
            return self._network(rng, weights=False)
        return self._network(np.random.default_rng(cfg.base_seed), weights=True)

    def _logits(self, net: Any, inputs: Any) -> Any:
        """Next-token logits (n, T, V) over the source's ids after each of ``inputs`` (n, T)."""
        return net(input_ids=inputs, use_cache=False).logits[..., : self.vocab_size]

    def _step(self, inputs: Any, cache: Any) -> tuple[Any, Any]:
        """Feed ``inputs`` (n, T) after ``cache``: float32 logits (n, V) of the next token, new cache."""
        out = self.net_(input_ids=inputs, use_cache=True, **{self._cache_key: cache})
        new = out["cache"] if "cache" in out else out["past_key_values"]
        return out.logits[:, -1, : self.vocab_size].float(), new

    # --------------------------------------------------------------------------------- data

    def _tokens(self, x: np.ndarray, what: str) -> Any:
        """Token ids ``x`` (n, T), 1 <= T <= max positions, as an int64 tensor on the device."""
        x = np.asarray(x)
        if x.ndim != 2 or not 1 <= x.shape[1] <= self._max_len:
            raise InvalidParameterError(
                f"TransformerLM.{what} expects token ids of shape (n, seq_len) with "
                f"1 <= seq_len <= {self._max_len}; got {x.shape}."
            )
        if not np.all(np.isfinite(x)):
            raise DegenerateFitError(
                f"TransformerLM.{what} got non-finite token ids (the previous generation diverged)."
            )
        ids = x.astype(np.int64)
        if not (np.all(ids == x) and ids.min(initial=0) >= 0 and ids.max(initial=0) < self.vocab_size):
            raise InvalidParameterError(
                f"TransformerLM.{what} expects integer token ids in 0..{self.vocab_size - 1}; "
                f"got values in [{x.min()}, {x.max()}]."
            )
        return torch.from_numpy(ids).to(self.device)

    def _with_bos(self, ids: Any) -> Any:
        """Inputs (n, T) of targets ``ids`` (n, T): BOS, x_1, …, x_{T-1}."""
        return torch.cat([torch.full_like(ids[:, :1], self.bos), ids[:, :-1]], dim=1)

    # ---------------------------------------------------------------------------------- fit

    def fit(self, x: np.ndarray, *, rng: np.random.Generator) -> Self:
        """Train on the sequences ``x`` (n, L) from the network ``init`` names; returns self."""
        cfg = self.config
        ids = self._tokens(x, "fit")
        if len(ids) == 0:
            raise InvalidParameterError("Expected n_samples >= 1 to fit TransformerLM but got 0.")
        net = self._start(rng)
        gen = generator_from(rng, self.device)
        inputs = self._with_bos(ids)
        per_epoch = len(ids) // min(cfg.batch_size, len(ids))  # minibatches drops a short last batch
        steps = cfg.steps if cfg.epochs is None else cfg.epochs * per_epoch
        optimiser = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        losses = []
        for idx in minibatches(len(ids), cfg.batch_size, steps, gen):
            with autocast(self.device, cfg.mixed_precision):
                logits = self._logits(net, inputs[idx])  # (b, L, V)
            loss = F.cross_entropy(logits.float().flatten(0, 1), ids[idx].flatten())
            check_finite_loss(loss, "transformer")
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
            optimiser.step()
            losses.append(loss.item())  # not .detach(): that keeps the step's logits alive (torch 2.13)
        self.net_ = net
        self.losses_ = np.asarray(losses, dtype=np.float64)
        return self

    # ------------------------------------------------------------------------------ scoring

    def token_log_probs(self, x: np.ndarray) -> np.ndarray:
        """``log p(x_t | BOS, x_<t)`` (natural log, temperature 1) of every token: shape (n, T)."""
        check_fitted(self, "net_")
        ids = self._tokens(x, "token_log_probs")
        parts = [torch.empty((0, ids.shape[1]), device=self.device)]
        with torch.no_grad():
            for start in range(0, len(ids), self.config.eval_batch):
                batch = ids[start : start + self.config.eval_batch]
                logits = self._logits(self.net_, self._with_bos(batch)).float()  # (b, T, V)
                parts.append(logits.gather(-1, batch[..., None])[..., 0] - logits.logsumexp(dim=-1))
        return torch.cat(parts).cpu().numpy().astype(np.float64)

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """Natural-log probability of each whole sequence of ``x`` (n, T): shape (n,)."""
        return self.token_log_probs(x).sum(axis=1)

    def next_token_probs(self, prefix: np.ndarray) -> np.ndarray:
        """p(· | BOS, prefix) over the V ids for each row of ``prefix`` (n, t), t < max positions: (n, V)."""
        _, logits = self._next_logits(prefix)
        return logits.softmax(dim=-1).cpu().numpy().astype(np.float64)

    def decoding_probs(self, prefix: np.ndarray, *, bias: float = 1.0) -> np.ndarray:
        """The law ``decoding: sample`` draws the next token from after each row of ``prefix``
        (n, t): :meth:`next_token_probs` after the repetition penalty, the temperature λ =
        ``bias``, ``top_k`` and ``top_p`` (as :meth:`sample` applies them). Shape (n, V)."""
        ids, logits = self._next_logits(prefix)
        return self._warp(logits, ids, check_bias(bias)).softmax(dim=-1).cpu().numpy().astype(np.float64)

    def _next_logits(self, prefix: np.ndarray) -> tuple[Any, Any]:
        """The prefix (n, t) as a tensor, and the float32 next-token logits (n, V) after it."""
        check_fitted(self, "net_")
        prefix = np.asarray(prefix)
        allowed = f"token ids of shape (n, t) with t < {self._max_len}"
        check(prefix.ndim == 2 and prefix.shape[1] < self._max_len, "prefix", allowed, prefix.shape)
        if prefix.shape[1] == 0:
            ids = torch.empty((len(prefix), 0), dtype=torch.int64, device=self.device)
        else:
            ids = self._tokens(prefix, "next_token_probs")
        bos = torch.full((len(ids), 1), self.bos, dtype=torch.int64, device=self.device)
        inputs = torch.cat([bos, ids], dim=1)
        with torch.no_grad():
            logits = self._logits(self.net_, inputs)[:, -1].float()
        return ids, logits

    def position_probs(self, x: np.ndarray) -> np.ndarray:
        """p(· | BOS, x_<t) over the V ids at every position t of each row of ``x`` (n, L):
        (n, L, V), from one forward pass (``next_token_probs`` on every prefix, L times cheaper)."""
        check_fitted(self, "net_")
        ids = self._tokens(x, "x")
        bos = torch.full((len(ids), 1), self.bos, dtype=torch.int64, device=self.device)
        inputs = torch.cat([bos, ids[:, :-1]], dim=1)
        with torch.no_grad():
            logits = self._logits(self.net_, inputs).float()
        return logits.softmax(dim=-1).cpu().numpy().astype(np.float64)

    # ----------------------------------------------------------------------------- sampling

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        """Draw ``n`` sequences, shape (n, seq_len) float64 ids, with temperature λ = ``bias``.

        ``decoding: greedy | beam`` need ``bias`` = 1 (module docstring).
        """
        check_fitted(self, "net_")
        bias = check_bias(bias)
        cfg = self.config
        check(isinstance(n, (int, np.integer)) and n >= 0, "n", "an int >= 0", n)
        if cfg.decoding != "sample":
            check(
                bias == 1.0, "bias",
                f"1 with decoding {cfg.decoding!r} (the temperature λ applies to decoding 'sample'; "
                "greedy and beam search are deterministic)",
                bias,
            )  # fmt: skip
        if n == 0:
            return np.empty((0, self.seq_len))
        gen = generator_from(rng, self.device)
        length = self.seq_len if cfg.decoding == "sample" else 1
        batch = cfg.eval_batch
        with torch.no_grad():
            draws = [self._draw(min(batch, n - s), length, bias, gen) for s in range(0, n, batch)]
            tokens = torch.cat(draws)
            if cfg.decoding != "sample":
                first, inverse = torch.unique(tokens[:, 0], return_inverse=True)
                width = 1 if cfg.decoding == "greedy" else cfg.beam_size
                block = max(1, batch // width)
                found = [self._search(first[i : i + block], width) for i in range(0, len(first), block)]
                tokens = torch.cat(found)[inverse]
        return tokens.cpu().numpy().astype(np.float64)

    def _warp(self, logits: Any, previous: Any, temperature: float) -> Any:
        """Logits (b, V) -> the logits ``decoding: sample`` draws from (module docstring)."""
        cfg = self.config
        logits = decoding.repetition_penalty(logits, previous, cfg.repetition_penalty)
        logits = decoding.apply_temperature(logits, temperature)
        return decoding.top_p_filter(decoding.top_k_filter(logits, cfg.top_k), cfg.top_p)

    def _draw(self, b: int, length: int, temperature: float, gen: Any) -> Any:
        """``b`` sequences (b, length) drawn token by token from BOS."""
        tokens = torch.empty((b, length), dtype=torch.int64, device=self.device)
        step = torch.full((b, 1), self.bos, dtype=torch.int64, device=self.device)
        cache = None
        for t in range(length):
            logits, cache = self._step(step, cache)
            probs = self._warp(logits, tokens[:, :t], temperature).softmax(dim=-1)
            step = torch.multinomial(probs, 1, generator=gen)  # (b, 1)
            tokens[:, t] = step[:, 0]
        return tokens

    def _search(self, first: Any, width: int) -> Any:
        """Beam search (``width`` hypotheses) continuing each first token of ``first`` (u,): (u, L)."""
        u, v, length = len(first), self.vocab_size, self.seq_len
        seqs = torch.zeros((u, width, length), dtype=torch.int64, device=self.device)
        seqs[:, :, 0] = first[:, None]
        scores = torch.full((u, width), -torch.inf, device=self.device)
        scores[:, 0] = 0.0  # the hypotheses start equal: keep one, so the first step picks no duplicates
        start = torch.stack([torch.full_like(first, self.bos), first], dim=1)
        logits, cache = self._step(start.repeat_interleave(width, dim=0), None)  # (u·width, V)
        offsets = torch.arange(u, device=self.device)[:, None] * width
        penalty = self.config.repetition_penalty
        for t in range(1, length):
            logits = decoding.repetition_penalty(logits, seqs.view(u * width, length)[:, :t], penalty)
            total = scores[:, :, None] + logits.log_softmax(dim=-1).view(u, width, v)
            scores, best = total.view(u, width * v).topk(width, dim=1)  # best first
            beam, token = best // v, best % v
            seqs = seqs.gather(1, beam[:, :, None].expand(u, width, length))
            seqs[:, :, t] = token
            if t < length - 1:
                cache = _reorder(cache, (offsets + beam).view(-1))
                logits, cache = self._step(token.view(-1, 1), cache)
        return seqs[:, 0]

    # ---------------------------------------------------------------------------- state

    def get_state(self) -> dict[str, np.ndarray]:
        """The network's weights (``net/<state-dict key>``), float32."""
        check_fitted(self, "net_")
        return module_arrays(self.net_, "net/")

    def set_state(self, state: dict[str, np.ndarray]) -> Self:
        """Load weights written by :meth:`get_state`; with ``init: warm_start``, fit continues from them."""
        net = self._network(np.random.default_rng(0), weights=False)  # any weights: all are overwritten
        load_module_arrays(net, state, "net/")
        self.net_ = net.eval()
        self.losses_ = np.empty(0)
        return self
