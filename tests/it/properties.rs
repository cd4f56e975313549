//! Property tests (fuzzing with proptest) for what parses untrusted input:
//! CSV imports, file names, content-type detection, form fields and bundle
//! entry names. None may panic, whatever the input, and the cleaners keep
//! their promises.
use chrono::NaiveDate;
use mandate::auth::policy::Role;
use mandate::bundles::manifest::safe_segment;
use mandate::evidence::sniff::Sniffer;
use mandate::orgs::window::AccessWindow;
use mandate::web::form;
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

/// Bytes that look like CSV often enough to reach the deeper code.
fn csvish() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..2000),
        proptest::collection::vec(
            prop_oneof![
                Just("name,email,kind,department,manager_email,start_date,end_date,top_management,line_manager\n".to_string()),
                Just("email,module,completed_on,score\n".to_string()),
                Just("email,policy,acknowledged_on,version\n".to_string()),
                Just("a@b.example,Security awareness,2026-02-01,1.0\n".to_string()),
                "[a-zA-Z0-9@.,\"' =+\\-\n\r;é\u{202e}]{0,80}",
                Just("\u{feff}".to_string()),
            ],
            0..30
        )
        .prop_map(|parts| parts.concat().into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn people_import_never_panics(bytes in csvish()) {
        let known: HashSet<String> = ["a@b.example".to_string()].into();
        let parsed = mandate::people::import::parse(&bytes, &known);
        let _ = format!("{parsed:?}");
    }

    #[test]
    fn training_import_never_panics(bytes in csvish()) {
        let people: HashMap<String, mandate::ids::PersonId> = [("a@b.example".to_string(), mandate::ids::PersonId::nil())].into();
        let modules: HashMap<String, mandate::ids::ModuleId> = [("security awareness".to_string(), mandate::ids::ModuleId::nil())].into();
        let _ = mandate::training::import::parse(&bytes, &people, &modules, NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
    }

    #[test]
    fn acknowledgements_import_never_panics(bytes in csvish()) {
        use mandate::imports::Import;
        use mandate::policies::acks::import::{Acknowledgements, Lines, Signed};
        let day = NaiveDate::from_ymd_opt(2026, 1, 10).unwrap();
        let people: HashMap<String, mandate::ids::PersonId> = [("a@b.example".to_string(), mandate::ids::PersonId::nil())].into();
        let signed = vec![Signed { id: mandate::ids::VersionId::nil(), major: 1, minor: 0, signed_on: day }];
        let policies = [("security awareness".to_string(), (mandate::ids::PolicyId::nil(), signed))].into();
        let parser = Acknowledgements::parser(Lines::new(people, policies, NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()));
        let _ = format!("{:?}", parser.read(&bytes).map(|(checked, _)| checked));
    }

    #[test]
    fn content_detection_never_panics_and_ignores_chunking(
        head in prop_oneof![Just(b"%PDF-1.7\n".to_vec()), Just(b"\x89PNG\r\n\x1a\n".to_vec()), Just(b"PK\x03\x04".to_vec()), Just(b"<html>".to_vec()), Just(Vec::new())],
        body in proptest::collection::vec(any::<u8>(), 0..3000),
        cuts in proptest::collection::vec(0usize..3000, 0..6),
        name in ".{0,40}",
    ) {
        let data = [head, body].concat();
        let mut whole = Sniffer::new();
        whole.feed(&data);
        let mut pieces = Sniffer::new();
        let mut at = 0;
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.sort();
        for c in cuts {
            pieces.feed(&data[at..c]);
            at = c;
        }
        pieces.feed(&data[at..]);
        let ext = mandate::evidence::sniff::extension(&name);
        prop_assert_eq!(whole.judge(data.len() as u64, ext.as_deref()), pieces.judge(data.len() as u64, ext.as_deref()));
    }

    #[test]
    fn uploaded_file_names_are_tamed(raw in ".{0,400}") {
        let name = form::display_filename(&raw);
        prop_assert!(!name.is_empty() && name.len() <= 200, "{name:?}");
        prop_assert!(!name.contains('/') && !name.contains('\\') && !name.starts_with('.'), "{name:?}");
        prop_assert!(!name.chars().any(|c| c.is_control() || ('\u{202A}'..='\u{202E}').contains(&c)), "{name:?}");
    }

    #[test]
    fn bundle_entry_names_are_tamed(raw in ".{0,200}", max in 8usize..80) {
        let s = safe_segment(&raw, max);
        prop_assert!(!s.is_empty() && s.len() <= max, "{s:?}");
        prop_assert!(!s.starts_with('.') && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)), "{s:?}");
    }

    #[test]
    fn form_fields_never_panic(raw in ".{0,300}", max in 0usize..100) {
        let _ = form::parse_email(&raw);
        if let Ok(v) = form::parse_text(&raw, "it", max) {
            prop_assert!(!v.is_empty() && v.chars().count() <= max && v.trim() == v);
        }
        let _ = form::parse_optional(&raw, "it", max, true);
        let _ = form::parse_date(&raw, "it");
        let _ = form::parse_choice::<uuid::Uuid>(&raw);
        let _ = AccessWindow::parse(&raw, &raw, Role::Auditor, NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
    }
}
