//! Export ReCode items (spec §2) for other trainers.
//!
//! * [`export_verl`] — a Parquet file in the shape verl's `RLHFDataset` reads (one row per
//!   item; schema in [`verl_schema`]).
//! * [`export_trl`] — JSONL for TRL's `GRPOTrainer`: `prompt` (the rendered §3.1 training
//!   prompt, a plain string), `target` (`new_code`), and `id` when the item has one.
//!
//! Both build the whole output in memory first and then write it atomically (a temporary file
//! in the target directory, synced, then renamed over the target): on any error the target is
//! untouched and no temporary file is left behind.
//!
//! # The verl Parquet file
//!
//! Columns, in this order (every field is declared nullable, as pandas / 🤗 `datasets` write
//! them, so the file concatenates cleanly with other verl datasets; only `extra_info.id`,
//! `extra_info.update_type` and `extra_info.source` ever hold nulls):
//!
//! | column | Arrow type | value |
//! |---|---|---|
//! | `data_source` | `string` | `recode/` + `dependency` in lower case, e.g. `recode/numpy` |
//! | `prompt` | `list<element: struct<role: string, content: string>>` | the three §3.1 messages: system, user, and the prefilled assistant message `Let me solve this step by step.\n<think>` |
//! | `ability` | `string` | `code-migration` |
//! | `reward_model` | `struct<style: string, ground_truth: string>` | `{style: "rule", ground_truth: new_code}` |
//! | `extra_info` | `struct<index: int64, id: string, dependency: string, new_version: string, update_type: string, source: string>` | `index` = 0-based position in the input; the others copied from the item (`new_version` as written, e.g. `==2.2.0`) |
//!
//! Snappy compression, one row group per 8,192 rows, the Arrow schema embedded
//! (`ARROW:schema`) as pyarrow does.
//!
//! ## How verl turns `prompt` into tokens, and why the assistant prefill is in it
//!
//! verl's `RLHFDataset.__getitem__` takes the message list of the `prompt` column
//! (`data.prompt_key`) and calls
//! `tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False,
//! **data.apply_chat_template_kwargs)`; the resulting ids are what the rollout continues
//! (the agent-loop rollout of newer verl versions makes the same call on the raw messages).
//! `add_generation_prompt=True` is hard-coded, so `continue_final_message=True` cannot be
//! passed through `apply_chat_template_kwargs` (transformers rejects the two together), and
//! with a stock template (e.g. Qwen2.5's) a final assistant message would be *closed* with
//! `<|im_end|>` and followed by a fresh `<|im_start|>assistant\n` header — not the §3.1 prompt.
//! Dropping the prefill from the file does not help either: the stock template would then add
//! the header but not `Let me solve this step by step.\n<think>`.
//!
//! The choice here: keep all three messages in `prompt` (the data says exactly what the model
//! sees) and make the tokenizer use [`VERL_CHAT_TEMPLATE`], the minimal ChatML of §3.1 (the
//! spec uses the same template for every model): it closes every message with
//! `<|im_end|>\n` except a final assistant message, which it leaves open, and it adds the
//! `<|im_start|>assistant\n` header only when `add_generation_prompt` is set *and* the last
//! message is not the assistant's. With verl's call it therefore renders, byte for byte,
//! `recode_data::prompt::training_prompt(item)` (the string [`export_trl`] writes; the tests
//! check this with Jinja2 when it is available). To install it, set the tokenizer's
//! `chat_template` (e.g. `tok.chat_template = open("recode_chatml.jinja").read();
//! tok.save_pretrained(model_dir)`, which works with every verl version) or, where the verl
//! version has it, `actor_rollout_ref.model.custom_chat_template`. The CLI writes the template
//! with `--chat-template-out`.
//!
//! The reward function then receives the *response only* (it starts after `<think>`), the
//! `data_source`, `reward_model.ground_truth` as `ground_truth`, and `extra_info`; verl's
//! built-in scorer does not know `recode/*` sources, so a custom reward function is required.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StringArray, StructArray};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use recode_data::Item;
use recode_data::prompt::{Message, render_chatml, training_messages};
use serde::Serialize;

/// `ability` of every verl row.
pub const ABILITY: &str = "code-migration";

/// `reward_model.style` of every verl row.
pub const REWARD_STYLE: &str = "rule";

/// Prefix of `data_source`; the lower-cased dependency follows.
pub const DATA_SOURCE_PREFIX: &str = "recode/";

/// Rows per Parquet row group in the verl file.
pub const ROW_GROUP_SIZE: usize = 8192;

/// The Jinja chat template that makes `apply_chat_template(prompt, add_generation_prompt=True)`
/// render the §3.1 prompt from the three messages of the verl `prompt` column (see the crate
/// documentation). Written for transformers' Jinja environment (`trim_blocks`,
/// `lstrip_blocks`); all text is emitted from expressions, so those settings do not matter.
pub const VERL_CHAT_TEMPLATE: &str = "\
{%- for message in messages -%}
{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] -}}
{%- if not (loop.last and message['role'] == 'assistant') -%}
{{- '<|im_end|>\\n' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt and (messages | length == 0 or messages[-1]['role'] != 'assistant') -%}
{{- '<|im_start|>assistant\\n' -}}
{%- endif -%}
";

/// Everything that can go wrong while exporting. Messages are complete on their own (they
/// include the underlying error's message), so `Display` is enough to report them.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// There were no items; an empty training set is almost certainly a mistake upstream.
    #[error("nothing to export: the input has no items")]
    NoItems,
    /// The output path does not name a file (e.g. it ends in `..` or is `/`).
    #[error("output path {} does not name a file", .0.display())]
    NotAFile(PathBuf),
    /// An I/O operation (`op`: "create a temporary file in", "write", "rename to", …) failed.
    #[error("cannot {op} {}: {error}", path.display())]
    Io { op: &'static str, path: PathBuf, error: std::io::Error },
    /// Building the Arrow data failed (a bug: the arrays are built to match the schema).
    #[error("cannot build the verl table: {0}")]
    Arrow(#[from] ArrowError),
    /// Encoding the Parquet file failed.
    #[error("cannot encode Parquet: {0}")]
    Parquet(#[from] ParquetError),
    /// An item could not be serialised as JSON (only possible for items built in code).
    #[error("cannot serialise item {index}: {error}")]
    Json { index: usize, error: serde_json::Error },
}

/// `data_source` of an item: `recode/` + the dependency in lower case.
pub fn data_source(item: &Item) -> String {
    format!("{DATA_SOURCE_PREFIX}{}", item.dependency.to_lowercase())
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

/// Fields of one chat message: `role`, `content`.
pub fn message_fields() -> Fields {
    Fields::from(vec![utf8("role"), utf8("content")])
}

/// Fields of `reward_model`: `style`, `ground_truth`.
pub fn reward_model_fields() -> Fields {
    Fields::from(vec![utf8("style"), utf8("ground_truth")])
}

/// Fields of `extra_info`: `index` (int64), `id`, `dependency`, `new_version`, `update_type`,
/// `source`.
pub fn extra_info_fields() -> Fields {
    Fields::from(vec![
        Field::new("index", DataType::Int64, true),
        utf8("id"),
        utf8("dependency"),
        utf8("new_version"),
        utf8("update_type"),
        utf8("source"),
    ])
}

/// The list element field of `prompt` (named `element`, as the Parquet LIST spec and pyarrow
/// name it).
fn message_list_item() -> Arc<Field> {
    Arc::new(Field::new("element", DataType::Struct(message_fields()), true))
}

/// The Arrow schema of the verl Parquet file (see the crate documentation).
pub fn verl_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        utf8("data_source"),
        Field::new("prompt", DataType::List(message_list_item()), true),
        utf8("ability"),
        Field::new("reward_model", DataType::Struct(reward_model_fields()), true),
        Field::new("extra_info", DataType::Struct(extra_info_fields()), true),
    ]))
}

fn strings<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(values.into_iter().collect::<StringArray>())
}

/// The verl table of `items` (one row per item, in order; `extra_info.index` counts from
/// `first_index`).
fn verl_batch(items: &[Item], first_index: usize) -> Result<RecordBatch, ExportError> {
    let n = items.len();

    // prompt: list<struct<role, content>>, three messages per row.
    let messages: Vec<Vec<Message>> = items.iter().map(training_messages).collect();
    // Arrow `string` arrays use i32 offsets: refuse (rather than panic on) a batch whose text
    // exceeds 2 GiB in one column.
    let content_bytes: usize = messages.iter().flatten().map(|m| m.content.len()).sum();
    let target_bytes: usize = items.iter().map(|i| i.new_code.len()).sum();
    if content_bytes.max(target_bytes) > i32::MAX as usize {
        return Err(ArrowError::InvalidArgumentError(format!(
            "items {first_index}..{} hold more than 2 GiB of text",
            first_index + n
        ))
        .into());
    }
    let mut roles = StringBuilder::new();
    let mut contents = StringBuilder::with_capacity(3 * n, content_bytes);
    for message in messages.iter().flatten() {
        roles.append_value(message.role.as_str());
        contents.append_value(&message.content);
    }
    let message_struct =
        StructArray::try_new(message_fields(), vec![Arc::new(roles.finish()), Arc::new(contents.finish())], None)?;
    let prompt = ListArray::try_new(
        message_list_item(),
        OffsetBuffer::from_lengths(messages.iter().map(Vec::len)),
        Arc::new(message_struct),
        None,
    )?;

    let reward_model = StructArray::try_new(
        reward_model_fields(),
        vec![
            strings(std::iter::repeat_n(Some(REWARD_STYLE), n)),
            strings(items.iter().map(|i| Some(i.new_code.as_str()))),
        ],
        None,
    )?;

    let mut index = Int64Builder::with_capacity(n);
    for i in 0..n {
        let value = i64::try_from(first_index + i)
            .map_err(|_| ArrowError::InvalidArgumentError("row index does not fit in int64".into()))?;
        index.append_value(value);
    }
    let extra_info = StructArray::try_new(
        extra_info_fields(),
        vec![
            Arc::new(index.finish()),
            strings(items.iter().map(|i| i.id.as_deref())),
            strings(items.iter().map(|i| Some(i.dependency.as_str()))),
            strings(items.iter().map(|i| Some(i.new_version.as_str()))),
            strings(items.iter().map(|i| i.update_type.as_deref())),
            strings(items.iter().map(|i| i.source.as_deref())),
        ],
        None,
    )?;

    let sources: Vec<String> = items.iter().map(data_source).collect();
    Ok(RecordBatch::try_new(
        verl_schema(),
        vec![
            strings(sources.iter().map(|s| Some(s.as_str()))),
            Arc::new(prompt),
            strings(std::iter::repeat_n(Some(ABILITY), n)),
            Arc::new(reward_model),
            Arc::new(extra_info),
        ],
    )?)
}

/// The verl table of `items`: one [`RecordBatch`] per [`ROW_GROUP_SIZE`] items, with the
/// schema [`verl_schema`]. An empty slice gives no batch.
pub fn verl_batches(items: &[Item]) -> Result<Vec<RecordBatch>, ExportError> {
    items.chunks(ROW_GROUP_SIZE).enumerate().map(|(chunk, rows)| verl_batch(rows, chunk * ROW_GROUP_SIZE)).collect()
}

/// The bytes of the verl Parquet file for `items` (see the crate documentation).
pub fn verl_parquet_bytes(items: &[Item]) -> Result<Vec<u8>, ExportError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_SIZE))
        .set_created_by(format!("recode-export {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), verl_schema(), Some(props))?;
    for batch in verl_batches(items)? {
        writer.write(&batch)?;
    }
    Ok(writer.into_inner()?)
}

/// Writes `items` to `path` as the verl Parquet file (see the crate documentation),
/// atomically. Fails with [`ExportError::NoItems`] on an empty slice.
pub fn export_verl(items: &[Item], path: impl AsRef<Path>) -> Result<(), ExportError> {
    if items.is_empty() {
        return Err(ExportError::NoItems);
    }
    let bytes = verl_parquet_bytes(items)?;
    write_atomic(path.as_ref(), &bytes)
}

/// One line of the TRL JSONL file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TrlRecord {
    /// The rendered §3.1 training prompt (`recode_data::prompt::training_prompt`): ChatML
    /// with the assistant prefill left open. A plain string, so TRL applies no chat template.
    pub prompt: String,
    /// `new_code`; TRL passes it to reward functions as the `target` keyword argument.
    pub target: String,
    /// The item's `id`, when it has one (the key is omitted otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl TrlRecord {
    pub fn from_item(item: &Item) -> Self {
        TrlRecord {
            prompt: render_chatml(&training_messages(item)),
            target: item.new_code.clone(),
            id: item.id.clone(),
        }
    }
}

/// The TRL JSONL text for `items`: one compact JSON object per line
/// (`{"prompt": …, "target": …, "id": …}`), each line ending in `\n`, UTF-8 unescaped.
pub fn trl_jsonl_bytes(items: &[Item]) -> Result<Vec<u8>, ExportError> {
    let mut out = Vec::new();
    for (index, item) in items.iter().enumerate() {
        serde_json::to_writer(&mut out, &TrlRecord::from_item(item))
            .map_err(|error| ExportError::Json { index, error })?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Writes `items` to `path` as TRL JSONL (see [`TrlRecord`]), atomically. Fails with
/// [`ExportError::NoItems`] on an empty slice.
pub fn export_trl(items: &[Item], path: impl AsRef<Path>) -> Result<(), ExportError> {
    if items.is_empty() {
        return Err(ExportError::NoItems);
    }
    let bytes = trl_jsonl_bytes(items)?;
    write_atomic(path.as_ref(), &bytes)
}

/// Writes [`VERL_CHAT_TEMPLATE`] to `path`, atomically.
pub fn write_chat_template(path: impl AsRef<Path>) -> Result<(), ExportError> {
    write_atomic(path.as_ref(), VERL_CHAT_TEMPLATE.as_bytes())
}

/// Writes `bytes` to `path` atomically (see [`recode_data::write_atomic`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    if path.file_name().is_none() {
        return Err(ExportError::NotAFile(path.to_path_buf()));
    }
    recode_data::write_atomic(path, bytes).map_err(|error| ExportError::Io {
        op: "write",
        path: path.to_path_buf(),
        error,
    })
}
