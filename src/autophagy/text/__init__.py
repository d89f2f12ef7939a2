"""Text for language-model loops: sources of token sequences, tokenizers, the language models and
the text metrics, in one home.

* :mod:`~autophagy.text.sources` - registers the text data kinds (``grammar``, ``corpus``).
* :mod:`~autophagy.text.ngram` / :mod:`~autophagy.text.ngram_model` - the n-gram LM's config and
  model; :mod:`~autophagy.text.transformer` / :mod:`~autophagy.text.transformer_model` - the
  transformer LM's; :mod:`~autophagy.text.decoding` (the shared decoding keys) and
  :mod:`~autophagy.text.decoding_rules` (the decoding rules on logits).
* :mod:`~autophagy.text.metrics` (registration) and :mod:`~autophagy.text.functional` (the maths);
  :mod:`~autophagy.text.embedding_metrics` and :mod:`~autophagy.text.embeddings` for the
  sentence-embedding metrics.

* :mod:`~autophagy.text.grammar` - a known language (a sparse higher-order Markov chain over a
  Zipfian vocabulary) whose exact probability of any text is known.
* :mod:`~autophagy.text.corpus` - real text (a bundled public-domain English corpus, a local file
  or a folder), split into train / validation / test and chunked into fixed-length sequences.
* :mod:`~autophagy.text.tokenizers` - character, byte and locally trained byte-level BPE
  tokenizers.

Every text source hands the loop the same thing: a batch of ``n`` sequences of ``seq_len`` token
ids, an array of shape (n, seq_len) of dtype float64 holding integers ``0..vocab_size-1`` (float,
so the loop machinery, which concatenates and stores float arrays, carries them unchanged).
Importing this package pulls numpy only; Hugging Face ``tokenizers`` loads inside the functions
that train or use a BPE tokenizer.
"""
