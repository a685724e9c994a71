//! Configs: the shipped files, overrides, and the precise errors of bad ones.
use std::path::{Path, PathBuf};

use recode_rl::config::{Algorithm, ConfigError, LossAggregation, ModelSource, ScaleRewards, TrainConfig};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn train_file() -> String {
    repo().join("data/train.jsonl").display().to_string()
}

/// A config file's text with `data.train` and `model.path` pointing at files that exist.
fn load_shipped(name: &str, extra: &[&str]) -> Result<TrainConfig, ConfigError> {
    let model_dir = repo().join("crates"); // any existing path stands for the model
    let mut overrides = vec![format!("data.train={}", train_file())];
    if name != "tiny.toml" {
        overrides.push(format!("model.path={}", model_dir.display()));
    }
    overrides.extend(extra.iter().map(|s| s.to_string()));
    TrainConfig::load(&repo().join("configs").join(name), &overrides)
}

fn parse(text: &str) -> Result<TrainConfig, ConfigError> {
    TrainConfig::from_toml_str(text, "test.toml", &[])
}

fn problems(config: &TrainConfig) -> Vec<String> {
    config.validate().iter().map(|p| p.to_string()).collect()
}

/// A valid minimal config for the validation tests.
fn valid() -> TrainConfig {
    let mut config = parse(&format!("[model]\npath = \"tiny\"\n[data]\ntrain = {:?}\n", train_file())).unwrap();
    config.steps = 10;
    config.optim.warmup_steps = 0;
    assert_eq!(problems(&config), Vec::<String>::new());
    config
}

#[test]
fn shipped_configs_load_and_validate() {
    for name in ["paper-grpo.toml", "paper-dapo.toml", "demo.toml", "tiny.toml"] {
        let config = load_shipped(name, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(config.warnings(), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn paper_configs_carry_the_paper_settings() {
    let grpo = load_shipped("paper-grpo.toml", &[]).unwrap();
    let a = &grpo.algorithm;
    assert_eq!((a.name, a.group_size, a.kl_beta, a.eps_low, a.eps_high), (Algorithm::Grpo, 8, 0.001, 0.2, 0.2));
    assert_eq!((a.loss_aggregation, a.scale_rewards), (LossAggregation::SeqMeanTokenMean, ScaleRewards::Group));
    assert_eq!((grpo.lora.r, grpo.lora.alpha, grpo.lora.dropout), (64, 64.0, 0.01));
    assert_eq!((grpo.optim.lr, grpo.optim.warmup_steps, grpo.steps, grpo.seed), (5e-5, 150, 5000, 42));
    // The defaults are the paper's GRPO run: the file differs from them only in paths and device.
    let expected = TrainConfig {
        model: grpo.model.clone(),
        data: grpo.data.clone(),
        run_dir: grpo.run_dir.clone(),
        ..Default::default()
    };
    assert_eq!(grpo, expected);

    let dapo = load_shipped("paper-dapo.toml", &[]).unwrap();
    let a = &dapo.algorithm;
    assert_eq!((a.name, a.prompts_per_step, a.group_size, a.kl_beta), (Algorithm::Dapo, 8, 8, 0.0));
    assert_eq!((a.eps_low, a.eps_high, a.dual_clip), (0.2, 0.28, Some(10.0)));
    assert_eq!((a.loss_aggregation, a.dynamic_sampling, a.max_num_gen_batches), (LossAggregation::TokenMean, true, 10));
    assert_eq!((a.mini_batch_prompts, a.overlong.enabled), (Some(4), false));
    assert_eq!((dapo.optim.lr, dapo.optim.warmup_steps, dapo.optim.weight_decay), (1e-6, 10, 0.1));
    assert_eq!((dapo.optim.max_grad_norm, dapo.sampling.temperature, dapo.sampling.top_p), (Some(1.0), 1.0, 1.0));
}

#[test]
fn tiny_config_names_the_tiny_model() {
    let tiny = load_shipped("tiny.toml", &[]).unwrap();
    assert_eq!(tiny.model.source(), ModelSource::Tiny);
    assert_eq!(tiny.model.tiny.num_hidden_layers, 2);
    assert_eq!(tiny.steps, 6);
    assert_eq!(tiny.checkpoint.every, 3);
}

#[test]
fn overrides_are_typed_and_applied_in_order() {
    let config = load_shipped(
        "demo.toml",
        &[
            "algorithm.group_size=8",
            "optim.lr=1",
            "algorithm.name=dapo",
            "algorithm.dual_clip=10",
            "lora.targets=[\"q_proj\", \"v_proj\"]",
            "lora.layers=[22, 23]",
            "reward.mode=fixed",
            "algorithm.overlong.enabled=true",
            "algorithm.overlong.buffer_len=64",
            "algorithm.kl_beta=0",
            "algorithm.dynamic_sampling=true",
            "steps=20",
            "steps=30",
            "run_dir=\"runs/x y\"",
        ],
    )
    .unwrap();
    assert_eq!(config.algorithm.group_size, 8);
    assert_eq!(config.optim.lr, 1.0);
    assert_eq!(config.algorithm.name, Algorithm::Dapo);
    assert_eq!(config.algorithm.dual_clip, Some(10.0));
    assert_eq!(config.lora.targets, ["q_proj", "v_proj"]);
    assert_eq!(config.lora.layers, [22, 23]);
    assert_eq!(config.reward.mode, recode_rewards::Mode::Fixed);
    assert!(config.algorithm.overlong.enabled);
    assert_eq!(config.steps, 30);
    assert_eq!(config.run_dir, PathBuf::from("runs/x y"));
}

#[test]
fn overrides_can_create_sections_the_file_left_out() {
    let config =
        TrainConfig::from_toml_str("", "empty.toml", &["model.tiny.hidden_size=64".into(), "model.path=tiny".into()])
            .unwrap();
    assert_eq!(config.model.tiny.hidden_size, 64);
    assert_eq!(config.model.source(), ModelSource::Tiny);
}

fn override_error(assignment: &str) -> String {
    TrainConfig::from_toml_str("", "empty.toml", &[assignment.to_string()]).unwrap_err().to_string()
}

#[test]
fn bad_overrides_say_which_and_why() {
    let err = override_error("algorithm.eps_hi=0.3");
    assert!(
        err.starts_with("--set algorithm.eps_hi=0.3: unknown key `algorithm.eps_hi`; valid keys in [algorithm]: "),
        "{err}"
    );
    assert!(err.contains("eps_high") && err.ends_with("(did you mean `algorithm.eps_high`?)"), "{err}");
    assert_eq!(
        override_error("algorithm.group_size=abc"),
        "--set algorithm.group_size=abc: `algorithm.group_size` expects a non-negative integer, got `abc`"
    );
    assert_eq!(
        override_error("algorithm.group_size=-2"),
        "--set algorithm.group_size=-2: `algorithm.group_size` must be a non-negative integer, got -2"
    );
    assert_eq!(override_error("optim.lr=fast"), "--set optim.lr=fast: `optim.lr` expects a number, got `fast`");
    assert_eq!(
        override_error("algorithm.dynamic_sampling=yes"),
        "--set algorithm.dynamic_sampling=yes: `algorithm.dynamic_sampling` expects true or false, got `yes`"
    );
    assert!(override_error("lora.targets=q_proj").contains("expects a TOML array"));
    assert!(
        override_error("algorithm=3").starts_with("--set algorithm=3: `algorithm` is a section; set one of its keys: ")
    );
    assert_eq!(override_error("steps"), "--set steps: expected KEY=VALUE, e.g. algorithm.group_size=4");
    assert!(override_error("steps.x=1").contains("`steps` is a value, not a section"));
    assert!(
        override_error("nope=1")
            .contains("unknown key `nope`; valid keys at the top level: seed, steps, run_dir, model")
    );
    // An enum value that does not exist: reported by the deserializer, attributed to --set.
    let err = override_error("algorithm.scale_rewards=groups");
    assert!(err.starts_with("--set algorithm.scale_rewards=groups: "), "{err}");
    assert!(err.contains("unknown variant `groups`, expected one of `group`, `batch`, `none`"), "{err}");
    let err = override_error("algorithm.dual_clip=abc");
    assert!(err.starts_with("--set algorithm.dual_clip=abc: ") && err.contains("expected f64"), "{err}");
}

#[test]
fn unknown_keys_in_the_file_name_the_full_path_and_the_valid_keys() {
    let err = parse("[algorithm]\ngroup_size = 4\neps_hi = 0.28\n").unwrap_err().to_string();
    assert!(err.starts_with("test.toml: unknown key `algorithm.eps_hi`; valid keys in [algorithm]: name, "), "{err}");
    assert!(err.ends_with("(did you mean `algorithm.eps_high`?)"), "{err}");
    let err = parse("[algorithm.overlong]\nbuffer = 4\n").unwrap_err().to_string();
    assert!(err.contains("unknown key `algorithm.overlong.buffer`; valid keys in [algorithm.overlong]: enabled, buffer_len, penalty_factor"), "{err}");
    let err = parse("[optimizer]\nlr = 1e-5\n").unwrap_err().to_string();
    assert!(err.contains("unknown key `optimizer`; valid keys at the top level: "), "{err}");
    assert!(err.contains("did you mean `optim`"), "{err}");
}

#[test]
fn type_and_syntax_errors_in_the_file_give_line_and_column() {
    let err = parse("steps = 3\n[algorithm]\ngroup_size = \"eight\"\n").unwrap_err().to_string();
    assert!(err.starts_with("test.toml: line 3, column 14: invalid type: string \"eight\", expected usize"), "{err}");
    let err = parse("[sampling]\ntemperature = = 1\n").unwrap_err().to_string();
    assert!(err.starts_with("test.toml: line 2, column "), "{err}");
    let err = parse("[algorithm]\nloss_aggregation = \"mean\"\n").unwrap_err().to_string();
    assert!(err.contains("line 2") && err.contains("unknown variant `mean`"), "{err}");
    assert!(err.contains("`token-mean`, `seq-mean-token-mean`, `seq-mean-token-sum-norm`"), "{err}");
}

#[test]
fn load_reports_unreadable_files() {
    let err = TrainConfig::load(Path::new("/nonexistent/x.toml"), &[]).unwrap_err().to_string();
    assert!(err.starts_with("/nonexistent/x.toml: cannot read: "), "{err}");
}

#[test]
fn group_size_below_two_is_rejected_for_grpo_and_dapo_only() {
    let mut config = valid();
    config.algorithm.group_size = 1;
    config.algorithm.micro_batch_size = 1;
    assert_eq!(
        problems(&config),
        ["algorithm.group_size: must be at least 2 for grpo: advantages compare completions within a group (got 1)"]
    );
    config.algorithm.name = Algorithm::Dapo;
    assert!(problems(&config)[0].contains("for dapo"));
    config.algorithm.name = Algorithm::Sft;
    assert_eq!(problems(&config), Vec::<String>::new());
}

#[test]
fn micro_batch_must_divide_the_step() {
    let mut config = valid();
    config.algorithm.prompts_per_step = 3;
    config.algorithm.group_size = 3;
    config.algorithm.micro_batch_size = 4;
    assert_eq!(
        problems(&config),
        ["algorithm.micro_batch_size: P × G = 3 × 3 = 9 is not divisible by micro_batch_size = 4"]
    );
    config.algorithm.name = Algorithm::Sft;
    assert_eq!(problems(&config), ["algorithm.micro_batch_size: P = 3 is not divisible by micro_batch_size = 4"]);
    config.algorithm.name = Algorithm::Grpo;
    config.algorithm.micro_batch_size = 3;
    config.algorithm.mini_batch_prompts = Some(2);
    assert_eq!(
        problems(&config),
        ["algorithm.mini_batch_prompts: must be at least 1 and divide prompts_per_step = 3, got 2"]
    );
    config.algorithm.prompts_per_step = 4;
    config.algorithm.micro_batch_size = 4;
    config.algorithm.group_size = 2;
    config.algorithm.mini_batch_prompts = Some(1);
    assert_eq!(
        problems(&config),
        [
            "algorithm.micro_batch_size: the 2 completions of one update (mini_batch_prompts = 1) are not divisible by micro_batch_size = 4"
        ]
    );
}

#[test]
fn missing_data_file_is_reported() {
    let mut config = valid();
    config.data.train = PathBuf::from("/nonexistent/train.jsonl");
    assert_eq!(problems(&config), ["data.train: /nonexistent/train.jsonl does not exist"]);
    config.data.train = repo().join("configs");
    assert!(problems(&config)[0].ends_with("configs is not a file"));
    config.model.path = "/nonexistent/model".into();
    assert_eq!(problems(&config)[0], "model.path: /nonexistent/model does not exist");
    config.model.path = String::new();
    assert!(problems(&config)[0].starts_with("model.path: required"));
}

#[test]
fn clip_ranges_and_other_numbers_are_checked() {
    let mut config = valid();
    config.algorithm.eps_low = 1.5;
    config.algorithm.eps_high = -0.1;
    config.algorithm.dual_clip = Some(1.0);
    config.algorithm.kl_beta = -1.0;
    config.sampling.temperature = 0.0;
    config.sampling.top_p = 0.0;
    config.optim.lr = 0.0;
    config.optim.warmup_steps = 11;
    config.lora.dropout = 1.0;
    config.lora.targets = vec!["qkv".into(), "q_proj".into(), "q_proj".into()];
    assert_eq!(
        problems(&config),
        [
            "lora.dropout: must be in [0, 1), got 1",
            "lora.targets: unknown layer \"qkv\"; expected one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj",
            "lora.targets: \"q_proj\" is listed twice",
            "algorithm.eps_low: must be in (0, 1), got 1.5",
            "algorithm.eps_high: must be > 0, got -0.1",
            "algorithm.dual_clip: must be > max(1, 1 + eps_high) = 1, got 1",
            "algorithm.kl_beta: must be ≥ 0, got -1",
            "sampling.temperature: must be > 0 for grpo: greedy groups are identical and teach nothing (got 0)",
            "sampling.top_p: must be in (0, 1], got 0",
            "optim.lr: must be > 0, got 0",
            "optim.warmup_steps: 11 is more than steps = 10",
        ]
    );
}

#[test]
fn rewards_overlong_and_dynamic_sampling_are_checked() {
    let mut config = valid();
    config.reward.format = false;
    config.reward.correctness = recode_rl::Correctness::None;
    config.algorithm.overlong.enabled = true;
    config.algorithm.overlong.buffer_len = 5000;
    assert_eq!(
        problems(&config),
        [
            "algorithm.overlong.buffer_len: must be in 1..=max_new_tokens = 1024, got 5000",
            "reward: no reward component: set reward.format = true or a reward.correctness",
        ]
    );
    let mut config = valid();
    config.reward.correctness = recode_rl::Correctness::Contains;
    assert_eq!(problems(&config), ["reward.contains: must be a non-empty text when reward.correctness = \"contains\""]);
    let mut config = valid();
    config.algorithm.name = Algorithm::Sft;
    config.algorithm.micro_batch_size = 1;
    config.algorithm.dynamic_sampling = true;
    assert_eq!(problems(&config), ["algorithm.dynamic_sampling: applies to grpo and dapo, not sft"]);
}

#[test]
fn tiny_model_shape_and_layers_are_checked() {
    let mut config = valid();
    config.model.tiny.hidden_size = 30;
    config.lora.layers = vec![1, 2, 1];
    assert_eq!(
        problems(&config),
        [
            "model.tiny.hidden_size: 30 is not divisible by num_attention_heads = 4",
            "lora.layers: layer 1 is listed twice",
            "lora.layers: layer 2 does not exist: the tiny model has 2 layers",
        ]
    );
}

#[test]
fn invalid_config_lists_every_problem_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[model]\npath = \"tiny\"\n[data]\ntrain = \"/nonexistent/t.jsonl\"\n[algorithm]\ngroup_size = 1\nmicro_batch_size = 3\n",
    )
    .unwrap();
    let err = TrainConfig::load(&path, &[]).unwrap_err().to_string();
    let expected = [
        format!("{}: invalid configuration:", path.display()),
        "  data.train: /nonexistent/t.jsonl does not exist".into(),
        "  algorithm.group_size: must be at least 2 for grpo: advantages compare completions within a group (got 1)"
            .into(),
        "  algorithm.micro_batch_size: P × G = 1 × 1 = 1 is not divisible by micro_batch_size = 3".into(),
    ];
    assert_eq!(err, expected.join("\n"));
}

#[test]
fn resolved_config_round_trips_through_toml() {
    let config = load_shipped("paper-dapo.toml", &[]).unwrap();
    let text = config.to_toml_string();
    assert_eq!(TrainConfig::from_toml_str(&text, "resolved", &[]).unwrap(), config);
}

#[test]
fn dapo_name_without_dapo_knobs_warns() {
    let mut config = valid();
    config.algorithm.name = Algorithm::Dapo;
    assert_eq!(
        config.warnings(),
        [
            "algorithm.name = \"dapo\" but algorithm.dynamic_sampling = false",
            "algorithm.name = \"dapo\" but algorithm.kl_beta = 0.001 (DAPO uses no KL)",
        ]
    );
}
