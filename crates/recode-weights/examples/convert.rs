//! `cargo run --example convert -p recode-weights -- INPUT OUT_DIR`: the library calls behind
//! `recode model convert` (GGUF or HF directory in, Hugging Face directory out, f32).
use std::path::PathBuf;

use candle_core::{DType, Device};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(input), Some(out)) = (args.next(), args.next()) else {
        return Err("usage: convert INPUT OUT_DIR".into());
    };
    let start = std::time::Instant::now();
    let checkpoint = recode_weights::load_checkpoint(&PathBuf::from(input), &Device::Cpu, DType::F32)?;
    eprintln!("loaded {} tensors in {:.1} s", checkpoint.tensors.len(), start.elapsed().as_secs_f64());
    recode_weights::save_hf_dir(&PathBuf::from(out), &checkpoint)?;
    eprintln!("written in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
