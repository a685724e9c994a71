//! Fuzz the reward entry point: any completion and target, both modes. It must never
//! panic, and every score must be one the spec allows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recode_rewards::{Mode, score};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The first U+0001 separates completion from target.
    let (completion, target) = text.split_once('\u{1}').unwrap_or((text, "x = 1\n"));
    for mode in [Mode::Parity, Mode::Fixed] {
        let s = score(completion, target, mode);
        assert!(s.format == 1.0 || s.format == -1.0, "{s:?}");
        assert!([2.0, -1.5, -2.0].contains(&s.em_star), "{s:?}");
        assert!(s.es_star == -2.0 || (-1.5..=2.0).contains(&s.es_star), "{s:?}");
        assert_eq!(s.em_star == -2.0, s.es_star == -2.0, "{s:?}");
        assert_eq!(s.em_star == 2.0, s.es_star == 2.0, "{s:?}");
        assert_eq!(s.total, s.format + s.es_star);
    }
});
