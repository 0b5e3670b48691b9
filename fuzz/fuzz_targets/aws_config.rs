//! `~/.aws/config` over arbitrary text: parse, then resolve every profile (including
//! `source_profile` chains and loops) and the names a server could ask for.
#![no_main]

use std::path::Path;

use aws_sso_tray::core::aws_config::{validate_name, AwsConfig, ProfileKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let path = Path::new("/fuzz/config");
    let mut diagnostics = Vec::new();
    let config = AwsConfig::parse(path, text, &mut diagnostics);
    for d in &diagnostics {
        assert_eq!(d.path, path);
        assert!(d
            .line
            .is_some_and(|l| l >= 1 && l <= text.split('\n').count()));
    }
    let names: Vec<String> = config.profile_names().map(str::to_owned).collect();
    for name in &names {
        let info = config.profile(name);
        assert_eq!(&info.name, name);
        assert_ne!(info.kind, ProfileKind::NotInConfig);
        if info.cache_key().is_some() {
            assert!(info.is_sso());
        }
        let _ = validate_name(name);
    }
    let unknown = config.profile("fuzz-no-such-profile\u{1}");
    if !config.has_profile("fuzz-no-such-profile\u{1}") {
        assert_eq!(unknown.kind, ProfileKind::NotInConfig);
    }
});
