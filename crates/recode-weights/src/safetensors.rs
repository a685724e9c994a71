//! Writing `.safetensors` files tensor by tensor, with the `{"format": "pt"}` metadata that
//! transformers checks for (candle's own writer leaves the metadata out).
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::Path;

use candle_core::{DType, Tensor};
use serde_json::{Map, Value, json};

use crate::error::WeightsError;

/// The dtypes read and written, by their safetensors names.
const DTYPES: [(DType, &str); 7] = [
    (DType::F32, "F32"),
    (DType::F16, "F16"),
    (DType::BF16, "BF16"),
    (DType::F64, "F64"),
    (DType::U8, "U8"),
    (DType::U32, "U32"),
    (DType::I64, "I64"),
];

fn dtype_name(dtype: DType) -> Option<&'static str> {
    DTYPES.iter().find(|(d, _)| *d == dtype).map(|(_, name)| *name)
}

fn dtype_of_name(name: &str) -> Option<DType> {
    DTYPES.iter().find(|(_, n)| *n == name).map(|(d, _)| *d)
}

fn tensor_bytes(tensor: &Tensor) -> candle_core::Result<Vec<u8>> {
    let flat = tensor.flatten_all()?.to_device(&candle_core::Device::Cpu)?;
    fn le<T, const N: usize>(values: Vec<T>, to_bytes: impl Fn(T) -> [u8; N]) -> Vec<u8> {
        values.into_iter().flat_map(to_bytes).collect()
    }
    Ok(match flat.dtype() {
        DType::F32 => le(flat.to_vec1::<f32>()?, f32::to_le_bytes),
        DType::F16 => le(flat.to_vec1::<half::f16>()?, half::f16::to_le_bytes),
        DType::BF16 => le(flat.to_vec1::<half::bf16>()?, half::bf16::to_le_bytes),
        DType::F64 => le(flat.to_vec1::<f64>()?, f64::to_le_bytes),
        DType::U8 => flat.to_vec1::<u8>()?,
        DType::U32 => le(flat.to_vec1::<u32>()?, u32::to_le_bytes),
        DType::I64 => le(flat.to_vec1::<i64>()?, i64::to_le_bytes),
        other => candle_core::bail!("dtype {other:?} cannot be written to safetensors"),
    })
}

/// Writes `tensors` (sorted by name) to `path`.
pub fn write_safetensors(path: &Path, tensors: &HashMap<String, Tensor>) -> Result<(), WeightsError> {
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    let mut header = Map::new();
    header.insert("__metadata__".into(), json!({"format": "pt"}));
    let mut offset = 0usize;
    for name in &names {
        let tensor = &tensors[*name];
        let dtype = dtype_name(tensor.dtype()).ok_or_else(|| WeightsError::Invalid {
            path: path.into(),
            message: format!("tensor `{name}`: dtype {:?} cannot be written to safetensors", tensor.dtype()),
        })?;
        let size = tensor.elem_count() * tensor.dtype().size_in_bytes();
        header.insert(
            (*name).clone(),
            json!({"dtype": dtype, "shape": tensor.dims(), "data_offsets": [offset, offset + size]}),
        );
        offset += size;
    }
    let mut header = Value::Object(header).to_string().into_bytes();
    // The data must start 8-byte aligned; the format pads the header with spaces.
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let file = std::fs::File::create(path).map_err(|e| WeightsError::io(path, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let io = |e| WeightsError::io(path, e);
    out.write_all(&(header.len() as u64).to_le_bytes()).map_err(io)?;
    out.write_all(&header).map_err(io)?;
    for name in names {
        let bytes = tensor_bytes(&tensors[name]).map_err(|e| WeightsError::candle(format!("tensor `{name}`"), e))?;
        out.write_all(&bytes).map_err(io)?;
    }
    out.into_inner().map_err(|e| WeightsError::io(path, e.into_error()))?.sync_all().map_err(io)
}

/// One tensor of a safetensors file as its header describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetensorsEntry {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    /// Byte range of the data, from the end of the header.
    pub data_offsets: (u64, u64),
}

/// The tensor directory of a safetensors file, reading only its header.
pub fn read_header(path: &Path) -> Result<Vec<SafetensorsEntry>, WeightsError> {
    use std::io::Read;
    let invalid = |message: String| WeightsError::Invalid { path: path.into(), message };
    let mut file = std::fs::File::open(path).map_err(|e| WeightsError::io(path, e))?;
    let file_size = file.metadata().map_err(|e| WeightsError::io(path, e))?.len();
    let mut size = [0u8; 8];
    file.read_exact(&mut size).map_err(|_| invalid("too short for a safetensors header".into()))?;
    let size = u64::from_le_bytes(size);
    if size > file_size.saturating_sub(8) || size > 100 << 20 {
        return Err(invalid(format!("header size {size} does not fit the file ({file_size} bytes)")));
    }
    let mut header = vec![0u8; size as usize];
    file.read_exact(&mut header).map_err(|e| WeightsError::io(path, e))?;
    let header: Map<String, Value> =
        serde_json::from_slice(&header).map_err(|e| invalid(format!("header is not a JSON object: {e}")))?;
    let mut entries = Vec::new();
    for (name, info) in header {
        if name == "__metadata__" {
            continue;
        }
        let dtype = info["dtype"].as_str().ok_or_else(|| invalid(format!("tensor `{name}`: no dtype")))?.to_string();
        let shape = info["shape"]
            .as_array()
            .and_then(|dims| dims.iter().map(|d| d.as_u64().map(|d| d as usize)).collect::<Option<Vec<_>>>())
            .ok_or_else(|| invalid(format!("tensor `{name}`: no shape")))?;
        let offsets: Option<Vec<Option<u64>>> =
            info["data_offsets"].as_array().map(|o| o.iter().map(Value::as_u64).collect());
        let data_offsets = match offsets.as_deref() {
            Some(&[Some(begin), Some(end)]) => (begin, end),
            _ => return Err(invalid(format!("tensor `{name}`: `data_offsets` must be two integers"))),
        };
        entries.push(SafetensorsEntry { name, dtype, shape, data_offsets });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Calls `each(name, tensor)` for every tensor of a safetensors file (on the CPU, in file order),
/// reading one tensor at a time. Not memory-mapped: a map's touched pages stay resident until it
/// is dropped, so the whole file and all its tensors would be resident together at the peak.
pub fn read_tensors(
    path: &Path,
    mut each: impl FnMut(String, Tensor) -> Result<(), WeightsError>,
) -> Result<(), WeightsError> {
    use std::io::{Read, Seek, SeekFrom};
    let invalid = |message: String| WeightsError::Invalid { path: path.into(), message };
    let mut entries = read_header(path)?;
    entries.sort_by_key(|e| e.data_offsets.0);
    let mut file = std::fs::File::open(path).map_err(|e| WeightsError::io(path, e))?;
    let mut size = [0u8; 8];
    file.read_exact(&mut size).map_err(|e| WeightsError::io(path, e))?;
    let data_start = 8 + u64::from_le_bytes(size); // bounded by read_header
    let file_size = file.metadata().map_err(|e| WeightsError::io(path, e))?.len();
    let mut buffer = Vec::new();
    for SafetensorsEntry { name, dtype, shape, data_offsets: (begin, end) } in entries {
        let dtype = dtype_of_name(&dtype)
            .ok_or_else(|| invalid(format!("tensor `{name}`: dtype {dtype:?} is not supported")))?;
        let bytes = shape.iter().try_fold(dtype.size_in_bytes() as u64, |n, &d| n.checked_mul(d as u64));
        let within = end.checked_add(data_start).is_some_and(|last| last <= file_size);
        if bytes != end.checked_sub(begin) || !within {
            return Err(invalid(format!(
                "tensor `{name}`: data_offsets [{begin}, {end}] do not hold {shape:?} {dtype:?} ({} bytes) within the file",
                bytes.map_or("too many".to_string(), |b| b.to_string())
            )));
        }
        buffer.resize((end - begin) as usize, 0);
        file.seek(SeekFrom::Start(data_start + begin))
            .and_then(|_| file.read_exact(&mut buffer))
            .map_err(|e| invalid(format!("tensor `{name}`: {e}")))?;
        let tensor = Tensor::from_raw_buffer(&buffer, dtype, &shape, &candle_core::Device::Cpu)
            .map_err(|e| WeightsError::candle(format!("{}: tensor `{name}`", path.display()), e))?;
        each(name, tensor)?;
    }
    Ok(())
}
