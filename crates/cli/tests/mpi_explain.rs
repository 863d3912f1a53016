//! `glassbox train --distributed` and `glassbox explain --distributed` under
//! `timeout 60 mpirun` (feature `distributed`): the distributed explanations (Kernel SHAP,
//! adaptive Integrated Gradients, permutation importance) print exactly what one process
//! prints (bit for bit: the JSON carries every digit), and distributed training writes a
//! working bundle from rank 0.
#![cfg(feature = "distributed")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/tabular")
        .join(name)
        .display()
        .to_string()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("glassbox-cli-mpi-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn check(what: &str, o: Output) -> String {
    assert!(
        o.status.success(),
        "{what} failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn single(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(args)
        .output()
        .unwrap();
    check(&format!("glassbox {args:?}"), o)
}

fn mpirun(np: usize, args: &[&str]) -> String {
    let o = Command::new("timeout")
        .args([
            "60",
            "mpirun",
            "--allow-run-as-root",
            "--oversubscribe",
            "--bind-to",
            "none",
        ])
        .args(["-x", "RAYON_NUM_THREADS", "-np", &np.to_string()])
        .arg(env!("CARGO_BIN_EXE_glassbox"))
        .args(args)
        .env("RAYON_NUM_THREADS", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .output()
        .expect("mpirun runs (package openmpi-bin)");
    check(&format!("mpirun -np {np} glassbox {args:?}"), o)
}

#[test]
fn distributed_train_and_explanations_equal_one_process() {
    let iris = data("iris.csv");
    let model = tmp("iris.gbx");
    let model_s = model.display().to_string();
    let printed = mpirun(
        2,
        &[
            "train",
            "--data",
            &iris,
            "--target",
            "target",
            "--model",
            "mlp:16",
            "--epochs",
            "5",
            "--batch-size",
            "16",
            "--out",
            &model_s,
            "--quiet",
            "--distributed",
        ],
    );
    // Only rank 0 prints and writes.
    assert_eq!(printed.matches("saved").count(), 1, "{printed}");
    assert!(model.exists());
    for method in ["shap", "ig", "permutation"] {
        let args = [
            "explain", "--model", &model_s, "--data", &iris, "--method", method, "--rows", "0-16",
            "--json",
        ];
        let one = single(&args);
        let mut dist_args = args.to_vec();
        dist_args.push("--distributed");
        for np in [2, 3] {
            let many = mpirun(np, &dist_args);
            assert_eq!(many, one, "{method} at -np {np}");
        }
    }
    std::fs::remove_file(&model).ok();
}
