"""Embeddings for a new tokenizer without training (design §4): see core.transplant."""
