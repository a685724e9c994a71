//! The tiny tokenizer and the byte-level BPE builder (the same code builds tokenizers from GGUF).
use recode_weights::testing::{TINY_SPECIAL_TOKENS, tiny_tokenizer};
use recode_weights::tokenizer::{ByteLevelBpeSpec, PreTokenizer, build_byte_level_bpe, byte_to_unicode};
use tokenizers::PreTokenizer as _;

#[test]
fn tiny_tokenizer_has_bytes_merges_and_special_tokens() {
    let t = tiny_tokenizer();
    assert_eq!(t.vocab_size(), 256 + 20 + 3);
    assert!(t.vocab_size() < 300);
    let ids: Vec<u32> = TINY_SPECIAL_TOKENS.iter().map(|s| t.token_id(s).unwrap()).collect();
    assert_eq!(ids, vec![276, 277, 278]);
    assert_eq!(t.eos_token_ids(), &[278, 276]);
    assert!(t.is_eos(278) && t.is_eos(276) && !t.is_eos(277));
    assert_eq!(t.pad_token_id(), 276);
    assert_eq!(t.bos_token_id(), None);
    assert_eq!(t.token_id("<|not a token|>"), None);
}

#[test]
fn special_tokens_in_text_are_single_ids_and_no_bos_is_added() {
    let t = tiny_tokenizer();
    let im_start = t.token_id("<|im_start|>").unwrap();
    let im_end = t.token_id("<|im_end|>").unwrap();
    let ids = t.encode("<|im_start|>user\nhi<|im_end|>").unwrap();
    assert_eq!(ids.first(), Some(&im_start));
    assert_eq!(ids.last(), Some(&im_end));
    // "u" "s" "er" "\n" "h" "i": nothing added in front.
    let er = t.token_id("er").unwrap();
    assert_eq!(&ids[1..ids.len() - 1], &[b'u' as u32, b's' as u32, er, 10, b'h' as u32, b'i' as u32]);
    assert_eq!(t.encode("").unwrap(), Vec::<u32>::new());
}

#[test]
fn merges_apply_in_rank_order() {
    let t = tiny_tokenizer();
    // " def" → "Ġdef" (merges Ġ+de after d+e, then Ġde+f); "import" → one token.
    let def = t.token_id("Ġdef").unwrap();
    let import = t.token_id("import").unwrap();
    assert_eq!(t.encode("import").unwrap(), vec![import]);
    let ids = t.encode("x def").unwrap();
    assert_eq!(ids, vec![b'x' as u32, def]);
    // Four trailing spaces are one pre-token and merge into one token.
    let four = t.token_id("ĠĠĠĠ").unwrap();
    assert_eq!(t.encode("a    ").unwrap(), vec![b'a' as u32, four]);
}

#[test]
fn round_trips_keep_special_text_and_unicode() {
    let t = tiny_tokenizer();
    for text in [
        "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n",
        "def f(x):\n    return x ** 2  # ünïcödé ✓ 😀\n",
        "\t\r\n  trailing   ",
        "数字 12345 and 'quotes' \"double\"",
        "",
    ] {
        let ids = t.encode(text).unwrap();
        assert_eq!(t.decode(&ids).unwrap(), text, "{ids:?}");
    }
    let ids = t.encode("<|im_start|>hi<|im_end|>").unwrap();
    assert_eq!(t.decode_skip_special(&ids).unwrap(), "hi");
    assert_eq!(t.token_text(t.token_id("Ġdef").unwrap()).unwrap(), " def");
}

#[test]
fn byte_table_is_a_bijection_onto_printable_characters() {
    let table = byte_to_unicode();
    let distinct: std::collections::HashSet<char> = table.iter().copied().collect();
    assert_eq!(distinct.len(), 256);
    assert_eq!(table[b' ' as usize], 'Ġ');
    assert_eq!(table[b'\n' as usize], 'Ċ');
    assert_eq!(table[b'a' as usize], 'a');
    assert!(table.iter().all(|c| !c.is_whitespace() && !c.is_control()));
}

fn split(pre: PreTokenizer, text: &str) -> Vec<String> {
    let table = byte_to_unicode();
    let tokens: Vec<String> = table.iter().map(|c| c.to_string()).collect();
    let tokenizer = build_byte_level_bpe(&ByteLevelBpeSpec {
        tokens: &tokens,
        token_types: None,
        merges: &[],
        pre_tokenizer: pre,
        prepend_bos: None,
    })
    .unwrap();
    let mut pretokenized = tokenizers::PreTokenizedString::from(text);
    tokenizer.get_pre_tokenizer().unwrap().pre_tokenize(&mut pretokenized).unwrap();
    pretokenized
        .get_splits(tokenizers::OffsetReferential::Original, tokenizers::OffsetType::Byte)
        .into_iter()
        .map(|(s, _, _)| s.to_string())
        .collect()
}

#[test]
fn pre_tokenizers_split_like_their_hugging_face_counterparts() {
    // Qwen2: digits one by one, letters with one leading non-letter, newlines kept together.
    assert_eq!(split(PreTokenizer::Qwen2, "x = 123\n\n  y"), vec!["x", "Ġ=", "Ġ", "1", "2", "3", "ĊĊ", "Ġ", "Ġy"]);
    assert_eq!(split(PreTokenizer::Qwen2, "I'm"), vec!["I", "'m"]);
    // SmolLM / StarCoder: digits alone, then GPT-2's split.
    assert_eq!(split(PreTokenizer::SmolLm, "ab 123"), vec!["ab", "Ġ", "1", "2", "3"]);
    // GPT-2: digit runs stay together.
    assert_eq!(split(PreTokenizer::Gpt2, "ab 123"), vec!["ab", "Ġ123"]);
    // Llama 3: digits in groups of three.
    assert_eq!(split(PreTokenizer::Llama3, "12345"), vec!["123", "45"]);
}

#[test]
fn builder_rejects_duplicates_and_dangling_merges() {
    let tokens: Vec<String> = vec!["a".into(), "b".into(), "a".into()];
    let err = build_byte_level_bpe(&ByteLevelBpeSpec {
        tokens: &tokens,
        token_types: None,
        merges: &[],
        pre_tokenizer: PreTokenizer::Gpt2,
        prepend_bos: None,
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("\"a\" appears twice") && err.contains("ids 0 and 2"), "{err}");
    let tokens: Vec<String> = vec!["a".into(), "b".into()];
    let err = build_byte_level_bpe(&ByteLevelBpeSpec {
        tokens: &tokens,
        token_types: None,
        merges: &[("a".into(), "c".into())],
        pre_tokenizer: PreTokenizer::Gpt2,
        prepend_bos: None,
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("merge 0") && err.contains("\"c\" is not in the vocabulary"), "{err}");
}

#[test]
fn bos_is_prepended_only_when_asked() {
    let table = byte_to_unicode();
    let mut tokens: Vec<String> = table.iter().map(|c| c.to_string()).collect();
    tokens.push("<s>".into());
    let mut types = vec![1; 256];
    types.push(3);
    let tokenizer = build_byte_level_bpe(&ByteLevelBpeSpec {
        tokens: &tokens,
        token_types: Some(&types),
        merges: &[],
        pre_tokenizer: PreTokenizer::Gpt2,
        prepend_bos: Some(256),
    })
    .unwrap();
    let chat = recode_weights::ChatTokenizer::from_tokenizer(tokenizer, vec![256], 256).unwrap();
    assert_eq!(chat.encode("a").unwrap(), vec![256, b'a' as u32]);
    assert_eq!(chat.decode(&[256, b'a' as u32]).unwrap(), "<s>a");
}

#[test]
fn from_tokenizer_checks_the_special_ids() {
    let inner = tiny_tokenizer().inner().clone();
    let err = recode_weights::ChatTokenizer::from_tokenizer(inner.clone(), vec![9999], 0).unwrap_err().to_string();
    assert!(err.contains("end-of-sequence token id 9999 is not in the vocabulary (279 ids)"), "{err}");
    let err = recode_weights::ChatTokenizer::from_tokenizer(inner.clone(), vec![278], 500).unwrap_err().to_string();
    assert!(err.contains("padding token id 500"), "{err}");
    let err = recode_weights::ChatTokenizer::from_tokenizer(inner, vec![], 0).unwrap_err().to_string();
    assert!(err.contains("no end-of-sequence"), "{err}");
}
