//! Trainable Qwen2 / Llama causal LMs.
