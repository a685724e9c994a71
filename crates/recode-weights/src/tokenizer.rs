//! The tokenizer of a chat model: a Hugging Face `tokenizers::Tokenizer` plus the ids that end a
//! turn and pad a batch, and a builder for byte-level BPE tokenizers from a vocabulary and merges
//! (what a GGUF file stores), laid out exactly as Hugging Face's `tokenizer.json` does.
use std::str::FromStr;

use serde_json::{Value, json};
use tokenizers::Tokenizer;

use crate::error::WeightsError;

/// A tokenizer with the chat model's special ids.
///
/// `encode` recognises special tokens written in the text (`<|im_start|>` becomes one id) and adds
/// a BOS token only when the model's tokenizer is configured to (its post-processor; Qwen2 and
/// SmolLM2 add none). `decode` keeps the text of special tokens (`decode(encode(s)) == s` for
/// chat-formatted text); use [`ChatTokenizer::decode_skip_special`] to drop them.
#[derive(Clone)]
pub struct ChatTokenizer {
    inner: Tokenizer,
    eos_token_ids: Vec<u32>,
    pad_token_id: u32,
    bos_token_id: Option<u32>,
}

impl std::fmt::Debug for ChatTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("eos_token_ids", &self.eos_token_ids)
            .field("pad_token_id", &self.pad_token_id)
            .field("bos_token_id", &self.bos_token_id)
            .finish()
    }
}

impl ChatTokenizer {
    /// Wraps `tokenizer`; `eos_token_ids` (end of turn first, then end of text) and `pad_token_id`
    /// must be ids the tokenizer knows.
    pub fn from_tokenizer(
        tokenizer: Tokenizer,
        eos_token_ids: Vec<u32>,
        pad_token_id: u32,
    ) -> Result<Self, WeightsError> {
        let mut chat = ChatTokenizer { inner: tokenizer, eos_token_ids: Vec::new(), pad_token_id, bos_token_id: None };
        if eos_token_ids.is_empty() {
            return Err(WeightsError::tokenizer("no end-of-sequence token id given"));
        }
        for id in eos_token_ids {
            chat.check_id(id, "end-of-sequence")?;
            if !chat.eos_token_ids.contains(&id) {
                chat.eos_token_ids.push(id);
            }
        }
        chat.check_id(pad_token_id, "padding")?;
        Ok(chat)
    }

    /// Records the model's BOS id (informational: whether BOS is added is the tokenizer's
    /// post-processor's business).
    pub fn with_bos_token_id(mut self, bos_token_id: Option<u32>) -> Result<Self, WeightsError> {
        if let Some(id) = bos_token_id {
            self.check_id(id, "beginning-of-sequence")?;
        }
        self.bos_token_id = bos_token_id;
        Ok(self)
    }

    fn check_id(&self, id: u32, what: &str) -> Result<(), WeightsError> {
        match self.inner.id_to_token(id) {
            Some(_) => Ok(()),
            None => Err(WeightsError::tokenizer(format!(
                "{what} token id {id} is not in the vocabulary ({} ids)",
                self.vocab_size()
            ))),
        }
    }

    /// Token ids of `text`; special tokens written in the text become their single ids.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, WeightsError> {
        let encoding = self.inner.encode(text, true).map_err(WeightsError::tokenizer)?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The text of `ids`, special tokens included as their text.
    pub fn decode(&self, ids: &[u32]) -> Result<String, WeightsError> {
        self.inner.decode(ids, false).map_err(WeightsError::tokenizer)
    }

    /// The text of `ids` without the special tokens.
    pub fn decode_skip_special(&self, ids: &[u32]) -> Result<String, WeightsError> {
        self.inner.decode(ids, true).map_err(WeightsError::tokenizer)
    }

    /// Ids that end generation: end of turn first, then end of text.
    pub fn eos_token_ids(&self) -> &[u32] {
        &self.eos_token_ids
    }

    pub fn is_eos(&self, id: u32) -> bool {
        self.eos_token_ids.contains(&id)
    }

    pub fn pad_token_id(&self) -> u32 {
        self.pad_token_id
    }

    pub fn bos_token_id(&self) -> Option<u32> {
        self.bos_token_id
    }

    /// Ids the tokenizer knows, added tokens included. Can be smaller than the model's
    /// `vocab_size` (embedding rows are often padded to a multiple of 64 or 128).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The id of a token given by its text, e.g. `"<|im_end|>"`.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The text of one token as the vocabulary stores it (byte-level BPE: `Ġ` for a space).
    pub fn token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The text of a token id when decoded (`" def"` rather than `"Ġdef"`).
    pub fn token_text(&self, id: u32) -> Result<String, WeightsError> {
        self.decode(&[id])
    }

    /// Added tokens (special or not) by id, in id order.
    pub fn added_tokens(&self) -> Vec<(u32, tokenizers::AddedToken)> {
        let mut tokens: Vec<_> = self.inner.get_added_tokens_decoder().into_iter().collect();
        tokens.sort_by_key(|(id, _)| *id);
        tokens
    }

    /// The wrapped Hugging Face tokenizer.
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    /// `tokenizer.json` text.
    pub fn to_json(&self, pretty: bool) -> Result<String, WeightsError> {
        self.inner.to_string(pretty).map_err(WeightsError::tokenizer)
    }
}

/// GPT-2's byte → printable character table used by byte-level BPE vocabularies: `table[b]` is
/// the character standing for byte `b`.
pub fn byte_to_unicode() -> [char; 256] {
    let mut table = ['\0'; 256];
    let printable = |b: u32| (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
    let mut next = 256u32;
    for b in 0..256u32 {
        table[b as usize] = if printable(b) {
            char::from_u32(b).expect("latin-1")
        } else {
            let c = char::from_u32(next).expect("below the surrogates");
            next += 1;
            c
        };
    }
    table
}

/// How text is split into words before BPE. Named after llama.cpp's `tokenizer.ggml.pre` values;
/// each reproduces the corresponding Hugging Face `tokenizer.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreTokenizer {
    /// Qwen2 / Qwen2.5: NFC normalisation, Qwen's regex split, byte-level without regex.
    Qwen2,
    /// GPT-2: byte-level with GPT-2's regex.
    Gpt2,
    /// SmolLM / StarCoder: every digit alone, then byte-level with GPT-2's regex.
    SmolLm,
    /// Llama 3: the Llama-3 regex split (digits in groups of three), byte-level without regex.
    Llama3,
}

const QWEN2_PATTERN: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

impl PreTokenizer {
    /// The pre-tokenizer for llama.cpp's `tokenizer.ggml.pre` name.
    pub fn from_gguf_name(name: &str) -> Option<PreTokenizer> {
        Some(match name {
            "qwen2" => PreTokenizer::Qwen2,
            "gpt-2" | "gpt2" | "default" => PreTokenizer::Gpt2,
            "smollm" | "starcoder" => PreTokenizer::SmolLm,
            "llama-bpe" | "llama3" => PreTokenizer::Llama3,
            _ => return None,
        })
    }

    pub fn gguf_name(self) -> &'static str {
        match self {
            PreTokenizer::Qwen2 => "qwen2",
            PreTokenizer::Gpt2 => "gpt-2",
            PreTokenizer::SmolLm => "smollm",
            PreTokenizer::Llama3 => "llama-bpe",
        }
    }

    fn normalizer(self) -> Value {
        match self {
            PreTokenizer::Qwen2 => json!({"type": "NFC"}),
            _ => Value::Null,
        }
    }

    fn pre_tokenizer(self) -> Value {
        let byte_level = |use_regex: bool, trim_offsets: bool| json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": trim_offsets, "use_regex": use_regex});
        let split = |pattern: &str| json!({"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": false});
        match self {
            PreTokenizer::Qwen2 => {
                json!({"type": "Sequence", "pretokenizers": [split(QWEN2_PATTERN), byte_level(false, false)]})
            }
            PreTokenizer::Llama3 => {
                json!({"type": "Sequence", "pretokenizers": [split(LLAMA3_PATTERN), byte_level(false, true)]})
            }
            PreTokenizer::Gpt2 => byte_level(true, true),
            PreTokenizer::SmolLm => json!({"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": true},
                byte_level(true, true),
            ]}),
        }
    }
}

/// What a byte-level BPE tokenizer is made of: the vocabulary by id, the kind of each token (GGUF
/// token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), the merges in
/// rank order, the pre-tokenizer, and the BOS token to prepend, if any.
pub struct ByteLevelBpeSpec<'a> {
    pub tokens: &'a [String],
    pub token_types: Option<&'a [i32]>,
    pub merges: &'a [(String, String)],
    pub pre_tokenizer: PreTokenizer,
    pub prepend_bos: Option<u32>,
}

/// GGUF token type of a control (special) token.
pub const TOKEN_TYPE_CONTROL: i32 = 3;
/// GGUF token type of a user-defined added token.
pub const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// Builds a byte-level BPE tokenizer laid out like Hugging Face's `tokenizer.json` for the same
/// model: every token in the BPE vocabulary under its id, control tokens as special added tokens
/// and user-defined tokens as normal added tokens (matched in the raw text, not normalised).
pub fn build_byte_level_bpe(spec: &ByteLevelBpeSpec<'_>) -> Result<Tokenizer, WeightsError> {
    let mut vocab = serde_json::Map::with_capacity(spec.tokens.len());
    for (id, token) in spec.tokens.iter().enumerate() {
        if vocab.insert(token.clone(), json!(id)).is_some() {
            let first = spec.tokens.iter().position(|t| t == token).unwrap_or(id);
            return Err(WeightsError::tokenizer(format!(
                "token {token:?} appears twice in the vocabulary (ids {first} and {id})"
            )));
        }
    }
    if let Some(types) = spec.token_types
        && types.len() != spec.tokens.len()
    {
        return Err(WeightsError::tokenizer(format!("{} token types for {} tokens", types.len(), spec.tokens.len())));
    }
    for (rank, (left, right)) in spec.merges.iter().enumerate() {
        for part in [left, right] {
            if !vocab.contains_key(part.as_str()) {
                return Err(WeightsError::tokenizer(format!(
                    "merge {rank} ({left:?} {right:?}): {part:?} is not in the vocabulary"
                )));
            }
        }
    }
    let mut added_tokens = Vec::new();
    if let Some(types) = spec.token_types {
        for (id, (token, &kind)) in spec.tokens.iter().zip(types).enumerate() {
            if kind == TOKEN_TYPE_CONTROL || kind == TOKEN_TYPE_USER_DEFINED {
                added_tokens.push(json!({
                    "id": id, "content": token, "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": kind == TOKEN_TYPE_CONTROL,
                }));
            }
        }
    }
    let byte_level_post =
        json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false});
    let post_processor = match spec.prepend_bos {
        None => byte_level_post,
        Some(bos) => {
            let bos_text = spec.tokens.get(bos as usize).ok_or_else(|| {
                WeightsError::tokenizer(format!("BOS id {bos} is not in the vocabulary ({} ids)", spec.tokens.len()))
            })?;
            let template = json!({
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": bos_text, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [
                    {"SpecialToken": {"id": bos_text, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": bos_text, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}},
                ],
                "special_tokens": {bos_text.clone(): {"id": bos_text, "ids": [bos], "tokens": [bos_text]}},
            });
            json!({"type": "Sequence", "processors": [byte_level_post, template]})
        }
    };
    let merges: Vec<Value> = spec.merges.iter().map(|(a, b)| json!([a, b])).collect();
    let document = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added_tokens,
        "normalizer": spec.pre_tokenizer.normalizer(),
        "pre_tokenizer": spec.pre_tokenizer.pre_tokenizer(),
        "post_processor": post_processor,
        "decoder": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "",
            "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": Value::Object(vocab), "merges": merges,
        },
    });
    Tokenizer::from_str(&document.to_string()).map_err(WeightsError::tokenizer)
}

/// The merges of a BPE tokenizer, in rank order (for writing a GGUF or inspecting).
pub fn bpe_merges(tokenizer: &Tokenizer) -> Result<Vec<(String, String)>, WeightsError> {
    let document: Value = serde_json::from_str(&tokenizer.to_string(false).map_err(WeightsError::tokenizer)?)
        .map_err(WeightsError::tokenizer)?;
    let merges = document["model"]["merges"]
        .as_array()
        .ok_or_else(|| WeightsError::tokenizer("not a BPE tokenizer (no model.merges)"))?;
    merges
        .iter()
        .map(|merge| match merge {
            Value::String(s) => s
                .split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| WeightsError::tokenizer(format!("merge {s:?} has no space"))),
            Value::Array(pair) if pair.len() == 2 => match (&pair[0], &pair[1]) {
                (Value::String(a), Value::String(b)) => Ok((a.clone(), b.clone())),
                _ => Err(WeightsError::tokenizer(format!("merge {merge} is not a pair of strings"))),
            },
            _ => Err(WeightsError::tokenizer(format!("merge {merge} is not a pair of strings"))),
        })
        .collect()
}

/// Tokens that end a turn or a text, by their usual names; a model's eos ids are completed
/// with these when they exist as special tokens.
pub(crate) const END_TOKENS: &[&str] =
    &["<|im_end|>", "<|endoftext|>", "<|end_of_text|>", "<|eot_id|>", "<|EOT|>", "<｜end▁of▁sentence｜>"];
