//! The window's size and position, remembered between openings in `<state>/window.json`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The size the window opens at the first time: six compact session rows, the header and the tabs.
pub const DEFAULT_SIZE: (f64, f64) = (680.0, 560.0);
/// Small enough for half the default size, which is what the page gets at 200 % zoom.
pub const MIN_SIZE: (f64, f64) = (320.0, 240.0);
const MAX_SIDE: f64 = 8192.0;

/// Logical pixels, as the window builder takes them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Geometry {
    pub width: f64,
    pub height: f64,
    #[serde(default)]
    pub x: Option<f64>,
    #[serde(default)]
    pub y: Option<f64>,
}

impl Geometry {
    /// `None` unless every number is finite and the size lies within the window's bounds.
    fn checked(self) -> Option<Self> {
        let side = |v: f64, min: f64| v.is_finite() && (min..=MAX_SIDE).contains(&v);
        let place = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v.abs() <= MAX_SIDE * 4.0);
        (side(self.width, MIN_SIZE.0)
            && side(self.height, MIN_SIZE.1)
            && place(self.x)
            && place(self.y))
        .then_some(self)
    }
}

/// The last geometry seen, written to disk a moment after it stops changing.
pub struct Remembered {
    path: PathBuf,
    last: Mutex<Option<Geometry>>,
    save_pending: AtomicBool,
}

impl Remembered {
    pub fn new(state_dir: &Path) -> Self {
        Remembered {
            path: state_dir.join("window.json"),
            last: Mutex::new(None),
            save_pending: AtomicBool::new(false),
        }
    }

    /// What was saved last time, if it is usable.
    pub fn load(&self) -> Option<Geometry> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        serde_json::from_str::<Geometry>(&text).ok()?.checked()
    }

    /// Records a new size (`position` unchanged when `None`) or position (`size` unchanged).
    /// Returns true when the caller should schedule [`Remembered::save`].
    pub fn update(&self, size: Option<(f64, f64)>, position: Option<(f64, f64)>) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let mut g = last.or_else(|| self.load()).unwrap_or(Geometry {
            width: DEFAULT_SIZE.0,
            height: DEFAULT_SIZE.1,
            x: None,
            y: None,
        });
        if let Some((w, h)) = size {
            (g.width, g.height) = (w, h);
        }
        if let Some((x, y)) = position {
            (g.x, g.y) = (Some(x), Some(y));
        }
        *last = Some(g);
        !self.save_pending.swap(true, Ordering::SeqCst)
    }

    /// How long changes settle before they are written (a drag sends many).
    pub const SETTLE: Duration = Duration::from_millis(400);

    /// Writes the last geometry, atomically (the core's temporary file and rename).
    pub fn save(&self) {
        self.save_pending.store(false, Ordering::SeqCst);
        let Some(g) = *self.last.lock().unwrap_or_else(|e| e.into_inner()) else {
            return;
        };
        let Some(g) = g.checked() else {
            return;
        };
        let write = || -> Result<(), String> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            }
            let body = serde_json::to_vec(&g).map_err(|e| e.to_string())?;
            crate::core::atomic_write::write_atomically(&self.path, &body, || Ok(()))
                .map_err(|e| e.to_string())
        };
        if let Err(e) = write() {
            tracing::debug!("cannot remember the window's geometry: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_round_trips_and_nonsense_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let r = Remembered::new(dir.path());
        assert_eq!(r.load(), None);
        assert!(r.update(Some((700.0, 500.0)), None));
        assert!(
            !r.update(None, Some((10.0, 20.0))),
            "one save is pending already"
        );
        r.save();
        let want = Geometry {
            width: 700.0,
            height: 500.0,
            x: Some(10.0),
            y: Some(20.0),
        };
        assert_eq!(Remembered::new(dir.path()).load(), Some(want));
        for bad in [
            r#"{"width": 10, "height": 500}"#,
            r#"{"width": 700, "height": 1e9}"#,
            r#"{"width": 700, "height": 500, "x": 1e12}"#,
            "not json",
        ] {
            std::fs::write(dir.path().join("window.json"), bad).unwrap();
            assert_eq!(r.load(), None, "{bad}");
        }
    }
}
