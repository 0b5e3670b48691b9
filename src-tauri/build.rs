fn main() {
    // Only the desktop front is a Tauri app; the headless build needs none of this.
    #[cfg(feature = "desktop")]
    {
        let commands = &[
            "get_view",
            "refresh_session",
            "fresh_session",
            "submit_sign_in_code",
            "open_config",
            "open_portal",
            "save_settings",
        ];
        let attributes = tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands));
        if let Err(e) = tauri_build::try_build(attributes) {
            panic!("tauri build step failed: {e:#}");
        }
    }
}
