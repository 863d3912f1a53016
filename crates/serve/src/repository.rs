//! The model repository: named models with numbered versions, loaded from a model
//! directory, from single bundle paths, or registered in memory; loaded and unloaded at run
//! time without dropping in-flight requests.
//!
//! Directory layout (Triton-like). Every entry `DIR/<entry>` not starting with `.` is one
//! model. Its name is the entry's file stem (`DIR/mnist.gbx` → `mnist`) or directory name.
//! A directory whose entries are all positive integers is a *versions* directory: each
//! `DIR/<name>/<v>` (file or directory) is version `v`'s bundle. Anything else is itself the
//! bundle of version 1. Requests without a version use the highest loaded version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use ndarray::ArrayD;
use serde::Serialize;

use crate::batcher::{Batcher, BatchingConfig, ComputePool};
use crate::error::{Result, ServeError};
use crate::metrics::Metrics;
use crate::model::{ModelLoader, ModelMetadata, Prediction, ServableModel};

/// One loaded model version with its batch queue.
#[derive(Debug)]
pub struct ModelEntry {
    /// Model name.
    pub name: String,
    /// Version number.
    pub version: u64,
    /// Metadata captured at load time.
    pub metadata: ModelMetadata,
    model: Arc<dyn ServableModel>,
    batcher: Batcher,
}

impl ModelEntry {
    /// The model itself (for explanation, which is not batched).
    pub fn model(&self) -> Arc<dyn ServableModel> {
        self.model.clone()
    }

    /// Predicts through the dynamic batcher.
    pub async fn predict(&self, input: ArrayD<f32>, timeout: Duration) -> Result<Prediction> {
        self.batcher.predict(input, timeout).await
    }
}

#[derive(Clone)]
enum Source {
    Path(PathBuf),
    Memory(BTreeMap<u64, Arc<dyn ServableModel>>),
}

#[derive(Default)]
struct Slot {
    source: Option<Source>,
    versions: BTreeMap<u64, Arc<ModelEntry>>,
    /// Why no version is loaded (`unloaded`, or the last load's error).
    reason: String,
    /// The error of the last load when it failed (empty after a successful load): the
    /// index shows it beside the versions that still serve.
    failed_load: String,
}

/// One row of the repository index (`POST /v2/repository/index`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexEntry {
    /// Model name.
    pub name: String,
    /// Version (absent for a model with no loaded version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `READY` or `UNAVAILABLE`.
    pub state: String,
    /// Why the model is unavailable; for a `READY` version, why the model's last load
    /// failed while this version kept serving (empty when the last load succeeded).
    pub reason: String,
}

/// The set of served models.
pub struct ModelRepository {
    loader: Option<Arc<dyn ModelLoader>>,
    model_dir: Option<PathBuf>,
    slots: RwLock<BTreeMap<String, Slot>>,
    admin: Mutex<()>,
    batching: BatchingConfig,
    pool: Arc<ComputePool>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for ModelRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRepository")
            .field("model_dir", &self.model_dir)
            .field("batching", &self.batching)
            .finish()
    }
}

/// Checks that a model name is safe to use as a path component.
pub fn check_model_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ServeError::InvalidRequest(format!(
            "invalid model name '{name}': use letters, digits, '_', '-', '.' and do not start with '.'"
        )))
    }
}

fn entry_name(path: &Path) -> Option<String> {
    let name = if path.is_dir() {
        path.file_name()?.to_str()?.to_string()
    } else {
        path.file_stem()?.to_str()?.to_string()
    };
    (!name.starts_with('.')).then_some(name)
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| ServeError::io(format!("reading model directory '{}'", dir.display()), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.'))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// The versions of a model source path: `(version, bundle path)`.
pub fn discover_versions(path: &Path) -> Result<Vec<(u64, PathBuf)>> {
    if !path.exists() {
        return Err(ServeError::Load {
            path: path.display().to_string(),
            reason: "no such file or directory".into(),
        });
    }
    if path.is_dir() {
        let entries = read_dir_sorted(path)?;
        let numbered: Vec<(u64, PathBuf)> = entries
            .iter()
            .filter_map(|p| {
                let v = p.file_name()?.to_str()?.parse::<u64>().ok()?;
                (v > 0).then(|| (v, p.clone()))
            })
            .collect();
        if !numbered.is_empty() && numbered.len() == entries.len() {
            let mut numbered = numbered;
            numbered.sort_by_key(|(v, _)| *v);
            return Ok(numbered);
        }
    }
    Ok(vec![(1, path.to_path_buf())])
}

impl ModelRepository {
    /// An empty repository. `loader` turns bundle paths into models; `model_dir` (if any)
    /// is scanned by [`ModelRepository::load_all`], [`ModelRepository::index`] and
    /// [`ModelRepository::load`].
    pub fn new(
        loader: Option<Arc<dyn ModelLoader>>,
        model_dir: Option<PathBuf>,
        batching: BatchingConfig,
        pool: Arc<ComputePool>,
        metrics: Arc<Metrics>,
    ) -> Self {
        ModelRepository {
            loader,
            model_dir,
            slots: RwLock::new(BTreeMap::new()),
            admin: Mutex::new(()),
            batching,
            pool,
            metrics,
        }
    }

    /// The compute pool shared by all models.
    pub fn pool(&self) -> &Arc<ComputePool> {
        &self.pool
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Slot>> {
        self.slots.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Slot>> {
        self.slots.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers the bundle (or versions directory) at `path` under `name`; not loaded yet.
    pub fn add_path(&self, name: &str, path: impl Into<PathBuf>) -> Result<()> {
        check_model_name(name)?;
        self.write().entry(name.to_string()).or_default().source = Some(Source::Path(path.into()));
        Ok(())
    }

    /// Registers an in-memory model as `name` version `version` and loads it.
    pub fn add_model(&self, name: &str, version: u64, model: Arc<dyn ServableModel>) -> Result<()> {
        check_model_name(name)?;
        {
            let mut slots = self.write();
            let slot = slots.entry(name.to_string()).or_default();
            match &mut slot.source {
                Some(Source::Memory(m)) => {
                    m.insert(version, model);
                }
                _ => slot.source = Some(Source::Memory(BTreeMap::from([(version, model)]))),
            }
        }
        self.load(name, Some(version))
    }

    /// Model names in the model directory plus every registered name.
    pub fn names(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self.read().keys().cloned().collect();
        if let Some(dir) = &self.model_dir {
            for p in read_dir_sorted(dir)? {
                if let Some(n) = entry_name(&p) {
                    names.push(n);
                }
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Loads every known model (all versions). Stops at the first failure.
    pub fn load_all(&self) -> Result<()> {
        for name in self.names()? {
            self.load(&name, None)?;
        }
        Ok(())
    }

    fn source_of(&self, name: &str) -> Result<Source> {
        if let Some(dir) = &self.model_dir {
            for p in read_dir_sorted(dir)? {
                if entry_name(&p).as_deref() == Some(name) {
                    return Ok(Source::Path(p));
                }
            }
        }
        self.read()
            .get(name)
            .and_then(|s| s.source.clone())
            .ok_or_else(|| ServeError::UnknownModel(name.to_string()))
    }

    fn build(
        &self,
        name: &str,
        version: u64,
        model: Arc<dyn ServableModel>,
    ) -> Result<Arc<ModelEntry>> {
        let metadata = model.metadata();
        metadata.input().map_err(|e| ServeError::Load {
            path: name.to_string(),
            reason: e.to_string(),
        })?;
        let batcher = Batcher::start(
            model.clone(),
            name,
            &version.to_string(),
            self.batching,
            self.pool.clone(),
            self.metrics.clone(),
        )?;
        Ok(Arc::new(ModelEntry {
            name: name.to_string(),
            version,
            metadata,
            model,
            batcher,
        }))
    }

    /// Loads (or reloads) `name`: every version found, or only `version`. New versions
    /// replace old ones atomically; requests already holding an old version finish on it.
    /// Blocking (reads bundles): call it from a blocking thread.
    pub fn load(&self, name: &str, version: Option<u64>) -> Result<()> {
        check_model_name(name)?;
        let _admin = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        let source = self.source_of(name)?;
        let loaded: Result<Vec<Arc<ModelEntry>>> = (|| {
            let mut found: Vec<(u64, Arc<dyn ServableModel>)> = Vec::new();
            match &source {
                Source::Memory(m) => {
                    found.extend(m.iter().map(|(v, m)| (*v, m.clone())));
                }
                Source::Path(p) => {
                    let loader = self.loader.as_ref().ok_or_else(|| ServeError::Load {
                        path: p.display().to_string(),
                        reason: "no model loader is configured".into(),
                    })?;
                    for (v, path) in discover_versions(p)? {
                        if version.is_none_or(|want| want == v) {
                            found.push((v, loader.load(&path)?));
                        }
                    }
                }
            }
            found.retain(|(v, _)| version.is_none_or(|want| want == *v));
            if found.is_empty() {
                return Err(ServeError::UnknownVersion {
                    model: name.to_string(),
                    version: version.map_or("any".into(), |v| v.to_string()),
                    available: "none on disk".into(),
                });
            }
            found
                .into_iter()
                .map(|(v, m)| self.build(name, v, m))
                .collect()
        })();
        let mut slots = self.write();
        let slot = slots.entry(name.to_string()).or_default();
        slot.source = Some(source);
        match loaded {
            Ok(entries) => {
                if version.is_none() {
                    slot.versions.clear();
                }
                for e in entries {
                    slot.versions.insert(e.version, e);
                }
                slot.reason.clear();
                slot.failed_load.clear();
                Ok(())
            }
            Err(e) => {
                slot.reason = e.to_string();
                slot.failed_load = e.to_string();
                Err(e)
            }
        }
    }

    /// Unloads every version of `name`, or only `version`. Requests already holding the
    /// model finish normally; its queue drains before its batcher stops.
    pub fn unload(&self, name: &str, version: Option<u64>) -> Result<()> {
        let _admin = self.admin.lock().unwrap_or_else(|p| p.into_inner());
        let mut slots = self.write();
        let slot = slots
            .get_mut(name)
            .ok_or_else(|| ServeError::UnknownModel(name.to_string()))?;
        match version {
            None => slot.versions.clear(),
            Some(v) => {
                if slot.versions.remove(&v).is_none() {
                    return Err(ServeError::UnknownVersion {
                        model: name.to_string(),
                        version: v.to_string(),
                        available: list_versions(&slot.versions),
                    });
                }
            }
        }
        slot.reason = "unloaded".into();
        Ok(())
    }

    /// The loaded entry for `name` and `version` (highest loaded version when `None`).
    pub fn get(&self, name: &str, version: Option<&str>) -> Result<Arc<ModelEntry>> {
        let slots = self.read();
        let slot = match slots.get(name) {
            Some(s) => s,
            None => {
                drop(slots);
                return Err(if self.names()?.iter().any(|n| n == name) {
                    ServeError::NotReady(name.to_string())
                } else {
                    ServeError::UnknownModel(name.to_string())
                });
            }
        };
        match version {
            None => slot
                .versions
                .values()
                .next_back()
                .cloned()
                .ok_or_else(|| ServeError::NotReady(name.to_string())),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .and_then(|n| slot.versions.get(&n).cloned())
                .ok_or_else(|| ServeError::UnknownVersion {
                    model: name.to_string(),
                    version: v.to_string(),
                    available: list_versions(&slot.versions),
                }),
        }
    }

    /// Loaded versions of `name`, ascending (empty when unknown or unloaded).
    pub fn versions(&self, name: &str) -> Vec<u64> {
        self.read()
            .get(name)
            .map(|s| s.versions.keys().copied().collect())
            .unwrap_or_default()
    }

    /// Whether `name` is registered (configured, found in the model directory and loaded
    /// once, or added in memory), loaded or not. Cheap: no directory scan. Request metrics
    /// label only registered names, so invented names cannot grow `/metrics`.
    pub fn is_registered(&self, name: &str) -> bool {
        self.read().contains_key(name)
    }

    /// Whether at least one model version is loaded.
    pub fn any_ready(&self) -> bool {
        self.read().values().any(|s| !s.versions.is_empty())
    }

    /// The repository index: one row per loaded version, one `UNAVAILABLE` row per known
    /// model without loaded versions; `ready_only` keeps only loaded versions.
    pub fn index(&self, ready_only: bool) -> Result<Vec<IndexEntry>> {
        let names = self.names()?;
        let slots = self.read();
        let mut out = Vec::new();
        for name in names {
            match slots.get(&name).filter(|s| !s.versions.is_empty()) {
                Some(slot) => out.extend(slot.versions.keys().map(|v| IndexEntry {
                    name: name.clone(),
                    version: Some(v.to_string()),
                    state: "READY".into(),
                    reason: if slot.failed_load.is_empty() {
                        String::new()
                    } else {
                        format!("still serving; the last load failed: {}", slot.failed_load)
                    },
                })),
                None if !ready_only => out.push(IndexEntry {
                    name: name.clone(),
                    version: None,
                    state: "UNAVAILABLE".into(),
                    reason: slots
                        .get(&name)
                        .map(|s| s.reason.clone())
                        .filter(|r| !r.is_empty())
                        .unwrap_or_else(|| "not loaded".into()),
                }),
                None => {}
            }
        }
        Ok(out)
    }
}

fn list_versions(v: &BTreeMap<u64, Arc<ModelEntry>>) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.keys()
            .map(|k| k.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_cannot_escape_the_directory() {
        assert!(check_model_name("mnist_cnn-2.v1").is_ok());
        for bad in ["", "..", ".hidden", "a/b", "a b"] {
            assert!(check_model_name(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn versions_directory_is_recognised() {
        let dir = std::env::temp_dir().join(format!("gb-serve-versions-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("m/2")).unwrap();
        std::fs::write(dir.join("m/10"), b"x").unwrap();
        let v = discover_versions(&dir.join("m")).unwrap();
        assert_eq!(v.iter().map(|p| p.0).collect::<Vec<_>>(), vec![2, 10]);
        std::fs::write(dir.join("m/notes.txt"), b"x").unwrap();
        let v = discover_versions(&dir.join("m")).unwrap();
        assert_eq!(v, vec![(1, dir.join("m"))]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
