//! The `glassbox` command (work in progress).

fn main() {
    eprintln!("glassbox: command-line interface is being built");
    std::process::exit(2);
}
