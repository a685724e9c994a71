//! The whole pipeline on small files with a scripted stand-in model (the model's text is
//! beside the point here: splicing, validation, choice and idempotence are under test).
use std::path::Path;
use std::sync::Mutex;

use recode_data::prompt::Message;
use recode_generate::{Completion, GenerateError, Generator, SamplingParams};
use recode_migrate::engine::{migrate_batch, migrate_prepared, prepare_source, unit_old_code};
use recode_migrate::{AffectedNames, Choice, Library, Settings, Status};

/// Answers each prompt by applying `rewrite` to the prompt's old code and the sample index, in
/// the answer format of the training prompt.
type Rewrite = Box<dyn Fn(&str, usize) -> String + Send + Sync>;

struct Scripted {
    rewrite: Rewrite,
    prompts: Mutex<Vec<String>>,
    /// The number of prompts of each `generate` call.
    calls: Mutex<Vec<usize>>,
}

impl Scripted {
    fn new(rewrite: impl Fn(&str, usize) -> String + Send + Sync + 'static) -> Self {
        Scripted { rewrite: Box::new(rewrite), prompts: Mutex::new(Vec::new()), calls: Mutex::new(Vec::new()) }
    }
}

fn old_code(messages: &[Message]) -> String {
    let user = &messages[1].content;
    let start = user.find("```python\n").unwrap() + "```python\n".len();
    let end = user.rfind("\n```\n\nShow your work").unwrap();
    user[start..end].to_string()
}

impl Generator for Scripted {
    fn describe(&self) -> String {
        "scripted".into()
    }
    fn generate(
        &self,
        prompts: &[Vec<Message>],
        params: &SamplingParams,
    ) -> Result<Vec<Vec<Completion>>, GenerateError> {
        self.calls.lock().unwrap().push(prompts.len());
        Ok(prompts
            .iter()
            .map(|p| {
                let old = old_code(p);
                self.prompts.lock().unwrap().push(old.clone());
                (0..params.n)
                    .map(|i| Completion {
                        text: format!(
                            " The call is renamed.\n</think>\n<answer>\n```python\n{}\n```\n</answer>",
                            (self.rewrite)(&old, i)
                        ),
                        truncated: false,
                    })
                    .collect()
            })
            .collect())
    }
}

fn settings(apis: &[&str]) -> Settings {
    let library = Library::resolve("numpy").unwrap();
    let mut names = AffectedNames::default();
    for api in apis {
        assert!(names.add(api, &library));
    }
    Settings::new(library, "2.0.0", "np.trapz is deprecated; use np.trapezoid.", names)
}

fn rename(old: &str, _: usize) -> String {
    old.replace("trapz", "trapezoid")
}

/// Runs the pipeline on `source`; returns the new text and the statuses.
fn migrate(source: &str, generator: &dyn Generator, settings: &Settings) -> (String, Vec<(Status, Option<String>)>) {
    let prepared = prepare_source(Path::new("t.py"), "t.py", source.to_string(), settings).unwrap();
    let outcome = migrate_prepared(prepared, generator, settings);
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let statuses = outcome.records.iter().map(|r| (r.status, r.reason.clone())).collect();
    (outcome.new_text(), statuses)
}

#[test]
fn crlf_tabs_unicode_decorators_and_eof_without_newline_keep_every_other_byte() {
    let source = "# -*- coding: utf-8 -*-\r\nimport numpy as np\r\n\r\nclass Área:\r\n\t\"\"\"Ünïcode — docs.\"\"\"\r\n\r\n\t@property\r\n\t@staticmethod\r\n\tdef integral(self):\r\n\t\tif True:\r\n\t\t\treturn np.trapz([1, 2])  # trailing\r\n\r\n\tdef untouched(self):\r\n\t\treturn 'ß'\r\n\r\nvalue = np.trapz([3, 4])";
    let generator = Scripted::new(rename);
    let (new, statuses) = migrate(source, &generator, &settings(&["numpy.trapz"]));
    assert_eq!(statuses.iter().map(|s| s.0).collect::<Vec<_>>(), [Status::Changed, Status::Changed]);
    assert_eq!(new, source.replace("np.trapz", "np.trapezoid"));
    // The model saw the method at top level, with the file's imports and LF endings.
    let prompts = generator.prompts.lock().unwrap();
    assert_eq!(
        prompts[0],
        "import numpy as np\n\n@property\n@staticmethod\ndef integral(self):\n\tif True:\n\t\treturn np.trapz([1, 2])"
    );
}

#[test]
fn space_answers_for_tab_indented_methods_become_tabs() {
    let source = "import numpy as np\n\nclass A:\n\tdef f(self):\n\t\treturn np.trapz([1])\n";
    // A model that re-indents with four spaces.
    let generator = Scripted::new(|old, _| rename(old, 0).replace('\t', "    "));
    let (new, _) = migrate(source, &generator, &settings(&["numpy.trapz"]));
    assert_eq!(new, "import numpy as np\n\nclass A:\n\tdef f(self):\n\t\treturn np.trapezoid([1])\n");
    assert!(recode_python::parses_as_module(&new));
}

#[test]
fn unparsable_answers_are_rejected_and_never_spliced() {
    let source = "import numpy as np\n\ndef f(y):\n    return np.trapz(y)\n\ng = np.trapz([1])\n";
    let generator = Scripted::new(|old, _| {
        if old.contains("def f") { rename(old, 0).replace("return", "return (") } else { rename(old, 0) }
    });
    let (new, statuses) = migrate(source, &generator, &settings(&["numpy.trapz"]));
    assert_eq!(statuses[0].0, Status::Rejected);
    assert!(statuses[0].1.as_deref().unwrap().contains("does not parse"), "{statuses:?}");
    assert_eq!(statuses[1].0, Status::Changed);
    assert_eq!(new, "import numpy as np\n\ndef f(y):\n    return np.trapz(y)\n\ng = np.trapezoid([1])\n");
}

#[test]
fn answers_that_do_not_fit_the_unit_are_rejected() {
    // A fragment that is not a module on its own.
    let source = "import numpy as np\n\nif True:\n    pass\nx = np.trapz([1])\n";
    let generator = Scripted::new(|_, _| "else:\n    x = np.trapezoid([1])".to_string());
    let (new, statuses) = migrate(source, &generator, &settings(&["numpy.trapz"]));
    assert_eq!(statuses[0].0, Status::Rejected);
    assert_eq!(new, source);
    // Code where an import statement was.
    let source = "from numpy import trapz\n";
    let generator = Scripted::new(|_, _| "from numpy import trapezoid\nprint(trapezoid([1]))".to_string());
    let (new, statuses) = migrate(source, &generator, &settings(&["numpy.trapz"]));
    assert_eq!(
        statuses[0],
        (Status::Rejected, Some("the answer for an import statement contains other statements".into()))
    );
    assert_eq!(new, source);
    // Only imports where a statement was; no python block at all.
    let source = "import numpy as np\nx = np.trapz([1])\n";
    let (_, statuses) =
        migrate(source, &Scripted::new(|_, _| "import numpy as np".into()), &settings(&["numpy.trapz"]));
    assert!(statuses[0].1.as_deref().unwrap().contains("only imports"), "{statuses:?}");
}

#[test]
fn migrating_the_output_again_changes_nothing() {
    let source = "import numpy as np\nfrom numpy import trapz as tz\n\ndef area(y):\n    return np.trapz(y) + tz(y)\n";
    let settings = settings(&["numpy.trapz"]);
    // The rename of the import keeps the alias working.
    let generator =
        Scripted::new(|old, _| old.replace("np.trapz", "np.trapezoid").replace("import trapz", "import trapezoid"));
    let (once, _) = migrate(source, &generator, &settings);
    assert_eq!(
        once,
        "import numpy as np\nfrom numpy import trapezoid as tz\n\ndef area(y):\n    return np.trapezoid(y) + tz(y)\n"
    );
    let again = Scripted::new(|_, _| panic!("nothing is left to send to the model"));
    let (twice, statuses) = migrate(&once, &again, &settings);
    assert_eq!(twice, once);
    assert!(statuses.is_empty());
    // And an answer equal to the unit (comments and blank lines aside) is `unchanged`, no edit.
    let echo = Scripted::new(|old, _| format!("{old}\n\n# nothing to change"));
    let (same, statuses) = migrate(source, &echo, &settings);
    assert_eq!(same, source);
    assert!(statuses.iter().all(|s| s.0 == Status::Unchanged), "{statuses:?}");
}

#[test]
fn imports_the_answer_adds_go_after_the_leading_imports_once() {
    let source = "\"\"\"Module.\"\"\"\nimport numpy as np\n\na = np.trapz([1])\nb = np.trapz([2])\n";
    let generator = Scripted::new(|old, _| {
        format!("{}\nfrom scipy.integrate import trapezoid", old.split("\n\n").next().unwrap())
            + "\n\n"
            + &old.split("\n\n").nth(1).unwrap().replace("np.trapz", "trapezoid")
    });
    let (new, statuses) = migrate(source, &generator, &settings(&["numpy.trapz"]));
    assert!(statuses.iter().all(|s| s.0 == Status::Changed));
    assert_eq!(
        new,
        "\"\"\"Module.\"\"\"\nimport numpy as np\nfrom scipy.integrate import trapezoid\n\na = trapezoid([1])\nb = trapezoid([2])\n"
    );
}

#[test]
fn choice_rules_over_samples() {
    let source = "import numpy as np\nx = np.trapz([1])\n";
    // Sample 0 does not parse; samples 1 and 3 give one rewrite, samples 2, 4 and 5 another:
    // `first` takes sample 1, `majority` the rewrite of three.
    let generator = Scripted::new(|old, i| match i {
        0 => "x = (".to_string(),
        1 | 3 => old.replace("np.trapz", "np.trapezoid"),
        _ => old.replace("np.trapz", "np.integrate_b"),
    });
    let mut s = settings(&["numpy.trapz"]);
    s.sampling.n = 6;
    let (first, _) = migrate(source, &generator, &s);
    assert_eq!(first, "import numpy as np\nx = np.trapezoid([1])\n");
    s.choice = Choice::Majority;
    let (majority, _) = migrate(source, &generator, &s);
    assert_eq!(majority, "import numpy as np\nx = np.integrate_b([1])\n");
}

#[test]
fn the_prompt_is_the_training_prompt_with_imports_as_context() {
    let source = "import os\nimport numpy as np\n\n\ndef f():\n    return np.trapz([1])\n";
    let settings = settings(&["numpy.trapz"]);
    let prepared = prepare_source(Path::new("t.py"), "t.py", source.to_string(), &settings).unwrap();
    let unit = &prepared.scan.units[0];
    assert_eq!(unit_old_code(&prepared, unit), "import os\nimport numpy as np\n\ndef f():\n    return np.trapz([1])");
    let messages = recode_migrate::engine::unit_prompt(&prepared, unit, &settings);
    let item = recode_data::Item {
        id: None,
        dependency: "Numpy".into(),
        new_version: "==2.0.0".into(),
        description: String::new(),
        update_info: settings.update_info.clone(),
        old_code: unit_old_code(&prepared, unit),
        new_code: String::new(),
        update_type: None,
        source: None,
        check: None,
        new_env: None,
        old_env: None,
        validation: None,
        extra: Default::default(),
    };
    assert_eq!(messages, recode_data::prompt::training_messages(&item));
    assert!(messages[1].content.starts_with("\nNumpy performed an API update in version 2.0.0,"));
}

#[test]
fn generator_failures_make_the_file_an_error_with_nothing_changed() {
    struct Down;
    impl Generator for Down {
        fn describe(&self) -> String {
            "down".into()
        }
        fn generate(&self, _: &[Vec<Message>], _: &SamplingParams) -> Result<Vec<Vec<Completion>>, GenerateError> {
            Err(GenerateError::Endpoint { url: "http://127.0.0.1:9".into(), message: "connection refused".into() })
        }
    }
    let settings = settings(&["numpy.trapz"]);
    let prepared =
        prepare_source(Path::new("t.py"), "t.py", "import numpy as np\nx = np.trapz(y)\n".into(), &settings).unwrap();
    let outcome = migrate_prepared(prepared, &Down, &settings);
    assert!(outcome.error.as_deref().unwrap().contains("connection refused"));
    assert!(!outcome.changed());
}

#[test]
fn a_batch_of_files_is_one_generator_call_and_each_file_gets_its_own_answers() {
    let settings = settings(&["numpy.trapz"]);
    let sources = [
        "import numpy as np\n\ndef f(y):\n    return np.trapz(y)\n\ng = np.trapz([1])\n",
        "import numpy as np\na = np.trapz([2]); b = 1\nc = np.trapz([3])\n",
        "import numpy as np\n\ndef h(y):\n    return np.trapz(y, dx=2)\n",
    ];
    // File 3's answer does not parse: rejected there, and only there.
    let rewrite = |old: &str, _: usize| {
        if old.contains("dx=2") { rename(old, 0).replace("return", "return (") } else { rename(old, 0) }
    };
    let prepared = |i: usize| {
        let name = format!("f{i}.py");
        prepare_source(Path::new(&name), &name, sources[i].to_string(), &settings).unwrap()
    };
    let batched = Scripted::new(rewrite);
    let outcomes = migrate_batch((0..3).map(prepared).collect(), &batched, &settings);
    // 2 + 1 (the unit sharing its line is not sent) + 1 prompts in a single call.
    assert_eq!(*batched.calls.lock().unwrap(), vec![4]);
    assert_eq!(outcomes.len(), 3);
    for (i, outcome) in outcomes.iter().enumerate() {
        let alone = migrate_prepared(prepared(i), &Scripted::new(rewrite), &settings);
        assert_eq!(outcome.display, format!("f{i}.py"));
        assert_eq!(outcome.new_text(), alone.new_text(), "file {i}");
        let statuses = |o: &recode_migrate::FileOutcome| o.records.iter().map(|r| r.status).collect::<Vec<_>>();
        assert_eq!(statuses(outcome), statuses(&alone), "file {i}");
    }
    assert_eq!(outcomes[0].new_text(), sources[0].replace("trapz", "trapezoid"));
    assert_eq!(
        outcomes[1].records.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![Status::Skipped, Status::Changed]
    );
    assert_eq!(outcomes[2].records[0].status, Status::Rejected);
    assert_eq!(outcomes[2].new_text(), sources[2]);
}
