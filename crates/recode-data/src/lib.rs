//! The ReCode item format (spec §2): JSONL I/O, validation, statistics, splits and prompts.
